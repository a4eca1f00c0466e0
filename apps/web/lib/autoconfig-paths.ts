/**
 * The well-known client autoconfiguration paths the panel serves (so `autoconfig.<domain>` and
 * `autodiscover.<domain>` can point at it), mapped onto the API's public endpoints. Outlook's path is matched in any
 * capitalisation (`/Autodiscover/Autodiscover.xml` is common).
 */
const THUNDERBIRD_PATHS = new Set(['/.well-known/autoconfig/mail/config-v1.1.xml', '/mail/config-v1.1.xml']);

export function autoconfigApiPath(pathname: string): string | undefined {
  if (THUNDERBIRD_PATHS.has(pathname)) return '/api/autoconfig/mail/config-v1.1.xml';
  if (pathname.toLowerCase() === '/autodiscover/autodiscover.xml') return '/api/autodiscover/autodiscover.xml';
  return undefined;
}

/**
 * RFC 8461's policy file, asked of `https://mta-sts.<domain>/.well-known/mta-sts.txt`: mapped onto the API's public
 * endpoint with the Host the request was made to (whatever query the client sent is dropped), so one panel answers for
 * every hosted domain whose `mta-sts` name points at it.
 */
export function mtaStsApiPath(pathname: string, host: string | undefined): string | undefined {
  if (pathname !== '/.well-known/mta-sts.txt') return undefined;
  return `/api/mta-sts/policy?host=${encodeURIComponent(host ?? '')}`;
}
