// Every workflow the workers run. Workflows import activities as types only.
export { sessionWorkflow, restartSignal, stopSignal } from './session.js';
export { outboxWorkflow, wakeSignal } from './outbox.js';
export { sessionCallWorkflow } from './sessionCall.js';
export { webhooksWorkflow, wakeWebhooksSignal } from './webhooks.js';
export { scheduledMessageWorkflow, rescheduleSignal, cancelScheduledSignal } from './scheduled.js';
export { campaignWorkflow, campaignChangedSignal } from './campaign.js';
export { chatbotReplyWorkflow } from './chatbot.js';
export { eventSinkWorkflow } from './eventSink.js';
export { flowRunWorkflow, flowReplySignal, cancelFlowSignal, takeoverFlowSignal } from './flow.js';
