/**
 * How a text is matched against a phrase or pattern (chatbot rules, flows'
 * keywords, choices and cases): the names only, so that the dashboard can
 * use them without the matcher (domain/chatbotRules.ts).
 */
export const MATCH_TYPES = ['exact', 'contains', 'startswith', 'regex'] as const;
export type MatchType = (typeof MATCH_TYPES)[number];
