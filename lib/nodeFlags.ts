/**
 * Node flags of the gateway's own processes (API and workers), wherever they
 * are started: `npm start` (stack/services.ts), the tests and benchmarks
 * (test/support/gateway.ts); package.json, the Dockerfile and
 * docker-compose.yml spell out the same flags. bench:send runs its bare
 * Baileys socket and the simulator with them too.
 *
 * A young generation of 32 MB semi-spaces instead of V8's 16 MB: both
 * processes allocate short-lived objects per message (Baileys' stanzas and
 * Signal state, HTTP requests), and with the default young space they spent
 * about a fifth of their CPU in scavenges. Measured with
 * `npm run bench:send -- 3000 150 4`: the gateway's CPU per message fell from
 * about 3.1 to 2.7 ms. The space grows to that size only under such load.
 */
export const NODE_FLAGS = ['--max-semi-space-size=32'];
