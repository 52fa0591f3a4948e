/** A send that can never succeed: the message is marked failed with this reason. */
export class PermanentSendError extends Error {}
