/**
 * The panel's Content-Security-Policy. Scripts run only from our origin with this response's nonce ('strict-dynamic'
 * lets the framework's own scripts load the chunks they need); nothing may frame the panel, post forms elsewhere or
 * load plugins. Inline `style` attributes stay allowed (usage bars set a width), which CSS injection alone cannot
 * turn into script execution. Development builds also need 'unsafe-eval' for React's tooling.
 */
export function contentSecurityPolicy(nonce: string, development = false): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** 128 random bits, base64: unguessable and new for every response. */
export function newNonce(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}
