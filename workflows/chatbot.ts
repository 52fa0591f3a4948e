import { proxyLocalActivities, sleep, upsertMemo } from '@temporalio/workflow';
import type { ChatbotActivities, ChatbotReplyInput } from '../activities/chatbot.js';

/**
 * The bot's reply to one incoming message: a durable timer for the rule's
 * delay, then the reply is handed to the outbox, unless by then a person has
 * written in the chat, the rule or the bot was switched off, or the chat hit
 * the bot's per-minute limit (activities/chatbot.ts decides, from Postgres).
 */
export async function chatbotReplyWorkflow(input: ChatbotReplyInput): Promise<string> {
  // A local activity: a few statements, run by the worker that runs this workflow, without a round trip
  // through a task queue (31 ms of the 140 a reply took: bench/chatbot.ts). Retried like any activity.
  const { sendChatbotReply } = proxyLocalActivities<ChatbotActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '30 s' },
  });
  if (input.delaySeconds > 0) await sleep(input.delaySeconds * 1_000, { summary: `replies after ${input.delaySeconds} s` });
  const result = await sendChatbotReply(input);
  upsertMemo({ outcome: result.outcome, replyId: result.replyId ?? null });
  return result.outcome;
}
