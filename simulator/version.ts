/** The WhatsApp Web version the simulator is tested with (Baileys sends it at login; test/support/bareBaileys.ts). */
export const WA_VERSION = '2.3000.1023223821';
