'use client';
import { useId, useState } from 'react';
import { ConfirmButton } from './confirm-button';
import { problemMessage, useApi } from '@/lib/client';
import { senderListPath, type SenderCandidate } from '@/lib/sender-lists';

/** The list a "Block sender" adds to: a domain's own, or one mailbox's. */
export type BlockList = { kind: 'domain' | 'mailbox'; id: string };

const KIND_LABEL: Record<SenderCandidate['kind'], string> = {
  author: 'the From field, what mail clients show',
  envelope: 'the sending server’s address (MAIL FROM)',
};

/**
 * "Block sender" (in the delivery log, for a domain's list; beside a waiting message, for its mailbox's): adds a block
 * rule for one of `senders` (or that sender's whole domain), so its mail is refused from then on, as MAIL FROM or as
 * the From author. With two candidates (a newsletter sent from its mailing service's bounce address) the dialog asks
 * which, the author chosen first. `onBlocked` runs once the rule exists (a page showing the list refreshes it).
 */
export function BlockSender({ list, senders, onBlocked }: { list: BlockList; senders: SenderCandidate[]; onBlocked?: () => void }) {
  const api = useApi();
  const name = useId();
  const [chosen, setChosen] = useState(0);
  const [wholeDomain, setWholeDomain] = useState(false);
  const [done, setDone] = useState<string>();
  const sender = senders[chosen]?.address ?? '';
  const senderDomain = sender.slice(sender.lastIndexOf('@') + 1).toLowerCase();
  const where = list.kind === 'domain' ? 'this domain' : 'this mailbox';
  const undo = list.kind === 'domain' ? 'The domain page’s “Blocked and allowed senders”' : '“Blocked and allowed senders” on this page';
  if (!senders.length) return null;
  if (done) return <span className="mt-1 block text-xs font-medium text-slate-700">{done} blocked</span>;
  return (
    // the dialog sits in a table cell that breaks addresses anywhere: its sentences break between words again
    <span className="mt-1 block break-normal wrap-anywhere">
      <ConfirmButton
        label="Block sender"
        variant="secondary"
        title={`Block ${wholeDomain ? senderDomain : sender}?`}
        confirmLabel="Block"
        onConfirm={async () => {
          const pattern = wholeDomain ? senderDomain : sender;
          const r = await api('POST', senderListPath(list), {
            pattern,
            action: 'block',
          });
          if (!r.ok)
            return r.problem.code === 'ALREADY_EXISTS'
              ? `That sender is listed already: change its rule ${list.kind === 'domain' ? 'on the domain page' : 'under “Blocked and allowed senders”'}.`
              : problemMessage(r.problem);
          setDone(pattern);
          onBlocked?.();
          return undefined;
        }}
      >
        {senders.length > 1 && (
          <fieldset className="space-y-1">
            <legend className="font-medium text-slate-900">Which address?</legend>
            {senders.map((c, i) => (
              <label key={c.address} className="flex items-start gap-2">
                <input
                  type="radio"
                  name={name}
                  checked={chosen === i}
                  onChange={() => setChosen(i)}
                  className="mt-1 h-4 w-4 accent-brand-600"
                />
                <span>
                  {c.address} <span className="text-slate-600">({KIND_LABEL[c.kind]})</span>
                </span>
              </label>
            ))}
          </fieldset>
        )}
        <p>
          Mail from {wholeDomain ? `every address at ${senderDomain} and its subdomains` : sender} to {where} is refused from now on,
          whether the sending server names it or the message’s From field does (mail from other mail servers to this one; mail handed over
          by LMTP is not affected). {undo} undoes it.
        </p>
        <label className="flex items-center gap-2">
          <input
            type="checkbox"
            checked={wholeDomain}
            onChange={(e) => setWholeDomain(e.target.checked)}
            className="h-4 w-4 accent-brand-600"
          />
          The whole domain {senderDomain}
        </label>
      </ConfirmButton>
    </span>
  );
}
