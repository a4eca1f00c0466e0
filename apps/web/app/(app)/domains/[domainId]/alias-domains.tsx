// Alias domains on a domain's page: where an alias domain's mail goes, and a target's list of alias domains.
import Link from 'next/link';
import { DomainStatusBadges } from '@/components/domain-status';
import { ButtonLink, Card, EmptyState } from '@/components/ui';
import type { Domain, Page } from '@/lib/types';
import { AliasTargetForm, AliasTargetPicker } from './alias-target-form';

/** On an alias domain's page: its mail goes to the same names at the target, where the mailboxes and aliases are. */
export function AliasTargetCard({ domain, target }: { domain: Domain; target: NonNullable<Domain['aliasOf']> }) {
  return (
    <Card id="alias-target" title="Where its mail goes">
      <p className="text-sm text-slate-700">
        {domain.name} is an alias domain of{' '}
        <Link href={`/domains/${target.id}`} className="font-medium text-brand-700 hover:underline">
          {target.name}
        </Link>
        : mail to <code>name@{domain.name}</code> is delivered as if it were sent to <code>name@{target.name}</code>, to its mailbox, alias
        or catch-all. It has no mailboxes of its own; people sign in with their {target.name} address. Greylisting and blocked or allowed
        senders are those of {target.name} too.
      </p>
      <AliasTargetForm domain={domain} target={target} />
    </Card>
  );
}

/** On a verified domain's page: the alias domains whose mail comes here, and a way to add one. */
export function AliasDomainsCard({ domain, aliasDomains }: { domain: Domain; aliasDomains: Page<Domain> }) {
  const add = <ButtonLink href={`/domains/new?aliasOf=${domain.id}`}>Add alias domain</ButtonLink>;
  return (
    <Card
      id="alias-domains"
      title="Alias domains"
      description={`Other domains whose mail goes to the same names at ${domain.name}, e.g. a second spelling or an old name.`}
      actions={aliasDomains.items.length ? add : undefined}
    >
      {aliasDomains.items.length === 0 ? (
        <EmptyState title="No alias domains" action={add}>
          Mail to name@an alias domain reaches name@{domain.name} without creating any mailbox twice.
        </EmptyState>
      ) : (
        <ul className="-my-2 divide-y divide-slate-100">
          {aliasDomains.items.map((a) => (
            <li key={a.id} className="flex flex-wrap items-center gap-2 py-2">
              <Link href={`/domains/${a.id}`} className="font-medium break-all text-brand-700 hover:underline">
                {a.name}
              </Link>
              <DomainStatusBadges domain={a} />
            </li>
          ))}
          {aliasDomains.nextCursor && (
            <li className="py-2 text-sm text-slate-600">
              {domain.aliasDomainCount} alias domains in all; search the domain list for the others.
            </li>
          )}
        </ul>
      )}
      {domain.mailboxCount === 0 && domain.aliasCount === 0 && domain.aliasDomainCount === 0 && (
        <div className="mt-6 space-y-2 border-t border-slate-200 pt-4">
          <p className="text-sm text-slate-700">
            {domain.name} has no mailboxes or aliases yet. If it is only another name for one of your domains, make it an alias domain of
            that one: its mail then goes to the same names there. Its POP3 policy, quota warnings, greylisting settings and sender rules are
            cleared (the other domain’s apply).
          </p>
          <AliasTargetPicker domain={domain} label="Make it an alias domain of" submit="Make it an alias domain" />
        </div>
      )}
    </Card>
  );
}
