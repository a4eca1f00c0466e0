/**
 * The client's connection is gone (closed, destroyed or failed mid-write): whatever the session was doing stops
 * quietly. Its own module so that the command handlers and the session can both throw it without importing each other.
 */
export class SessionClosedError extends Error {
  constructor() {
    super('connection closed');
    this.name = 'SessionClosedError';
  }
}
