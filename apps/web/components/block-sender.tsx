'use client';
import { useState } from 'react';
import { ConfirmButton } from './confirm-button';
import { problemMessage, useApi } from '@/lib/client';

/**
 * A delivery log entry's "Block sender": adds a block rule for its envelope sender (or the sender's whole domain) to
 * the recipient's domain, where mail from it is then refused at RCPT.
 */
export function BlockSender({ domainId, sender }: { domainId: string; sender: string }) {
  const api = useApi();
  const [wholeDomain, setWholeDomain] = useState(false);
  const [done, setDone] = useState<string>();
  const senderDomain = sender.slice(sender.lastIndexOf('@') + 1);
  if (done) return <span className="mt-1 block text-xs font-medium text-slate-700">{done} blocked</span>;
  return (
    <span className="mt-1 block">
      <ConfirmButton
        label="Block sender"
        variant="secondary"
        title={`Block ${wholeDomain ? senderDomain : sender}?`}
        confirmLabel="Block"
        onConfirm={async () => {
          const pattern = wholeDomain ? senderDomain : sender;
          const r = await api('POST', `/domains/${domainId}/sender-rules`, { pattern, action: 'block' });
          if (!r.ok)
            return r.problem.code === 'ALREADY_EXISTS'
              ? 'That sender is listed already: change its rule on the domain page.'
              : problemMessage(r.problem);
          setDone(pattern);
          return undefined;
        }}
      >
        <p>
          Mail from {wholeDomain ? `every address at ${senderDomain} and its subdomains` : sender} to this domain is refused from now on
          (sent by other mail servers to this one; mail handed over by LMTP is not affected). The domain page’s “Blocked and allowed
          senders” undoes it.
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
