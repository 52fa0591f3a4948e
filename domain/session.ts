/**
 * What the session workflow and its activity agree on about a session that
 * changes hands between workers (failover, a worker shutting down).
 */
/** The failure type of a session its worker let go (shutting down, or another worker holds it): the session workflow takes it up again at once. */
export const HANDED_OVER = 'SessionHandedOver';

/**
 * The Temporal heartbeat timeout of a session's activity, given the lease timeout
 * (SESSION_HEARTBEAT_TIMEOUT_SECONDS). A holder that stops renewing its lease is
 * found by the general workers' sweep, which fails its activity; Temporal's
 * heartbeats are only the backstop for when no sweep runs, so they can be rare:
 * a session beats every quarter of this.
 */
export function sessionActivityHeartbeatSeconds(leaseTimeoutSeconds: number): number {
  return Math.max(300, leaseTimeoutSeconds * 15);
}

/** How often a session worker renews its leases: every quarter of the lease timeout. */
export function leaseRenewalMs(leaseTimeoutSeconds: number): number {
  return Math.max(500, (leaseTimeoutSeconds * 1_000) / 4);
}
