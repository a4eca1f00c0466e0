import { Pager } from '@/components/pager';
import { SenderRulesEditor, type SenderRuleList } from '@/components/sender-rules';
import { MailboxUsersSenderRules } from '@/components/mailbox-users-sender-rules';
import { Card } from '@/components/ui';
import { qs } from '@/lib/api';
import { senderListPath } from '@/lib/sender-lists';
import type { Page, SenderRule } from '@/lib/types';

/** Rules shown on one page of a list: far more than most lists hold, and the pager goes on. */
const SENDER_RULE_PAGE = 100;

/** The API path of a list's page of rules (the page's `ruleCursor` query parameter). */
export function senderRulesPath(list: Pick<SenderRuleList, 'kind' | 'id'>, cursor: string | undefined): string {
  return `${senderListPath(list)}${qs({ cursor, limit: SENDER_RULE_PAGE })}`;
}

const DESCRIPTION = {
  domain: (name: string) =>
    `Senders whose mail to ${name} is refused, or never delayed by greylisting. A block matches the sender address the sending server gives and the From address a mail program shows (for newsletters often two different ones). An allow matches the first only, which anyone can forge: it spares the sender greylisting, never the SPF, DKIM and DMARC checks. Mail that reaches this server through another mail server (LMTP) is not affected.`,
  mailbox: (name: string) =>
    `Senders whose mail to ${name} is refused (also when it is sent to an alias that includes this mailbox), or never delayed by greylisting. The domain owner’s list applies too, and a sender it blocks stays blocked. A block matches the sender address the sending server gives and the From address a mail program shows. An allow matches the first only, which anyone can forge: it spares the sender greylisting, never the SPF, DKIM and DMARC checks.`,
};

/**
 * A list of blocked and allowed senders in its card (`#sender-rules`), with its pager: on the domain page, the mailbox
 * page, and the mailbox user's home.
 */
export function SenderRulesCard({
  list,
  page,
  basePath,
  params,
  cursor,
  readOnly = false,
  mailboxUsersAllowed,
}: {
  list: SenderRuleList;
  page: Page<SenderRule>;
  /** The panel page it is on, and that page's other query parameters (kept by the pager). */
  basePath: string;
  params: Record<string, string | undefined>;
  cursor: string | undefined;
  /** A mailbox user whose domain's owner keeps the list: the rules and the export only. */
  readOnly?: boolean;
  /** A domain's own list: whether its mailbox users keep their own lists (the owner's switch is shown). */
  mailboxUsersAllowed?: boolean;
}) {
  return (
    <Card id="sender-rules" title="Blocked and allowed senders" description={DESCRIPTION[list.kind](list.name)}>
      <SenderRulesEditor list={list} rules={page.items} readOnly={readOnly} />
      <Pager
        basePath={basePath}
        params={params}
        cursor={cursor}
        nextCursor={page.nextCursor}
        cursorParam="ruleCursor"
        fragment="sender-rules"
        label="Sender rule pages"
      />
      {mailboxUsersAllowed !== undefined && <MailboxUsersSenderRules domainId={list.id} allowed={mailboxUsersAllowed} />}
    </Card>
  );
}
