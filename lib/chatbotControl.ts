import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { chatbotReplyWorkflow, ChatbotReplyInput } from '../workflows/chatbot.js';
import { INSTANCE_ID, workflowIds } from './temporal.js';

/**
 * Starts the bot's reply to an incoming message. Its workflow id names the
 * message and may never be used again: a message WhatsApp delivers twice (or
 * that is seen again after a crash) gets no second reply. Returns false when
 * that reply was started before.
 */
export async function startChatbotReply(client: Client, taskQueue: string, input: ChatbotReplyInput): Promise<boolean> {
  try {
    await client.connection.withDeadline(Date.now() + 5_000, () =>
      client.workflow.start<typeof chatbotReplyWorkflow>('chatbotReplyWorkflow', {
        taskQueue,
        workflowId: workflowIds.chatbotReply(input.instanceId, input.messageId),
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        // Where this process also runs general workers (the default roles), the server hands the workflow's
        // first task back in the start's answer instead of through the task queue.
        requestEagerStart: true,
        args: [input],
        typedSearchAttributes: [{ key: INSTANCE_ID, value: input.instanceId }],
        memo: { chatId: input.chatId, messageId: input.messageId, ruleId: input.ruleId, delaySeconds: input.delaySeconds },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}
