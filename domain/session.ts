/**
 * What the session workflow and its activity agree on about a session that
 * changes hands between workers (failover, a worker shutting down).
 */
/** The failure type of a session its worker let go (shutting down, or another worker holds it): the session workflow takes it up again at once. */
export const HANDED_OVER = 'SessionHandedOver';
