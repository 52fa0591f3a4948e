// Which rule answers a text, and which messages the bot looks at: the matcher (domain/chatbotRules.ts)
// and activities/chatbot.ts's answerable(), without a gateway.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fillResponse, RuleMatcher, regexProblem, type ChatbotRule, type MatchType } from '../domain/chatbotRules.js';
import { answerable, MAX_AGE_SECONDS } from '../activities/chatbot.js';
import { phraseForm } from '../domain/textForm.js';
import { seededRandom } from './support/random.js';
import type { IncomingMessage } from '../whatsapp/session.js';

const rule = (id: number, match_type: MatchType, trigger_text: string, priority = 0, enabled = true): ChatbotRule => ({
  id,
  match_type,
  trigger_text,
  response: `r${id}`,
  delay: 0,
  enabled,
  priority,
});
const matched = (matcher: RuleMatcher, text: string) => matcher.match(text)?.id;

test('case, accents and the Turkish dotted and dotless i are ignored, in triggers and in texts', () => {
  const m = new RuleMatcher([
    rule(1, 'contains', 'fiyat'),
    rule(2, 'exact', 'Şeker'),
    rule(3, 'startswith', 'IŞIK'),
    rule(4, 'regex', '^çay\\s+\\d+$'),
  ]);
  for (const text of ['FİYAT nedir', 'FIYAT', 'fıyat?', 'Fiyat']) assert.equal(matched(m, text), 1, text);
  for (const text of ['şeker', 'SEKER', ' seker ', 'ŞEKER']) assert.equal(matched(m, text), 2, text);
  for (const text of ['ışık yanıyor', 'isik', 'IŞIKLAR']) assert.equal(matched(m, text), 3, text);
  for (const text of ['ÇAY 2', 'cay   12']) assert.equal(matched(m, text), 4, text);
  for (const text of ['şekerler', 'bir ışık', 'çay iki', '']) assert.equal(matched(m, text), undefined, text);
  m.close();
});

test('the lowest priority wins, ties go to the lower id, disabled rules are skipped', () => {
  const m = new RuleMatcher([
    rule(5, 'contains', 'kargo', 3),
    rule(2, 'contains', 'kargo', 3),
    rule(9, 'contains', 'fiyat', -1, false),
    rule(7, 'contains', 'fiyat', 10),
    rule(8, 'regex', 'kar.o', 4),
  ]);
  assert.equal(matched(m, 'kargo fiyatı'), 2);
  assert.equal(matched(m, 'fiyat'), 7);
  assert.equal(matched(m, 'karpo'), 8);
  assert.equal(m.size, 4);
  m.close();
});

test('exact wants the whole text (spacing aside), startswith its beginning, a regex its own anchors', () => {
  const m = new RuleMatcher([rule(1, 'exact', 'iyi  günler'), rule(2, 'startswith', 'sipariş'), rule(3, 'regex', '\\bkod\\d{3}\\b')]);
  assert.equal(matched(m, '  İyi günler  '), 1);
  assert.equal(matched(m, 'iyi günler dilerim'), undefined);
  assert.equal(matched(m, 'Sipariş 12'), 2);
  assert.equal(matched(m, 'bir sipariş'), undefined);
  assert.equal(matched(m, 'bu KOD123 mü'), 3);
  assert.equal(matched(m, 'kod1234'), undefined);
  m.close();
});

test('many regex rules, screened in groups, match exactly as if each were tried', () => {
  const rules = Array.from({ length: 300 }, (_, i) => rule(i + 1, 'regex', `^k${i}(\\s|$)`, i % 7));
  const m = new RuleMatcher(rules);
  for (const i of [0, 63, 64, 150, 299]) assert.equal(matched(m, `k${i} lütfen`), i + 1, `k${i}`);
  assert.equal(matched(m, 'k300'), undefined);
  assert.equal(matched(m, 'hiçbiri'), undefined);
  // A contains rule before them in priority still comes first.
  const withContains = new RuleMatcher([...rules, rule(1_000, 'contains', 'lütfen', -1)]);
  assert.equal(matched(withContains, 'k150 lütfen'), 1_000);
  m.close();
  withContains.close();
});

test('contains rules found in one pass agree with trying each rule in turn', () => {
  // A small alphabet makes phrases overlap and nest, where a one-pass search can go wrong.
  const random = seededRandom(42);
  const word = (length: number) => Array.from({ length }, () => 'abcdş'[random(5)]).join('');
  const rules = Array.from({ length: 60 }, (_, i) =>
    rule(i + 1, random(5) === 0 ? 'startswith' : random(6) === 0 ? 'exact' : 'contains', word(2 + random(3)), random(50)),
  );
  const ordered = [...rules].sort((a, b) => a.priority - b.priority || a.id - b.id);
  const naive = (text: string) => {
    const t = phraseForm(text);
    return ordered.find((r) => {
      const p = phraseForm(r.trigger_text);
      return r.match_type === 'exact' ? t === p : r.match_type === 'startswith' ? t.startsWith(p) : t.includes(p);
    })?.id;
  };
  const m = new RuleMatcher(rules);
  let answered = 0;
  for (let i = 0; i < 2_000; i++) {
    const text = word(1 + random(12));
    const expected = naive(text);
    if (expected !== undefined) answered++;
    assert.equal(matched(m, text), expected, text);
  }
  assert.ok(answered > 1_000 && answered < 2_000, `${answered} of 2000 texts matched: the check covers both`);
  m.close();
});

test('a hostile pattern against 64 KB finishes (RE2 does not backtrack); patterns RE2 cannot run are refused', () => {
  const m = new RuleMatcher([rule(1, 'regex', '(a+)+$'), rule(2, 'regex', '(x+x+)+y'), rule(3, 'regex', '(a|aa)+b')]);
  assert.equal(matched(m, `${'a'.repeat(65_535)}!`), undefined);
  assert.equal(matched(m, 'x'.repeat(65_536)), undefined);
  assert.equal(matched(m, 'aaaa'), 1);
  m.close();

  assert.equal(regexProblem('(a+)+$'), undefined);
  assert.match(regexProblem('(?=a)b')!, /RE2.*lookaround.*invalid perl operator: \(\?=/);
  assert.match(regexProblem('(a)\\1')!, /invalid escape sequence: \\1/);
  assert.match(regexProblem('a{1001}')!, /invalid repetition size/);
  assert.match(regexProblem('x'.repeat(501))!, /at most 500 characters/);
  // A stored pattern that RE2 refuses (saved by another version) is skipped, not fatal.
  const skipping = new RuleMatcher([rule(1, 'regex', '(?<=a)b'), rule(2, 'contains', 'b')]);
  assert.deepEqual(skipping.skipped, [1]);
  assert.equal(matched(skipping, 'ab'), 2);
  skipping.close();
});

test('placeholders are filled; {time} is HH:mm in the given time zone', () => {
  const now = new Date('2026-12-01T21:07:00Z');
  const values = { name: 'Ayşe', phone: '905551112233', now };
  assert.equal(fillResponse('{name} ({phone}) {time}', { ...values, timeZone: 'Europe/Istanbul' }), 'Ayşe (905551112233) 00:07');
  assert.equal(fillResponse('{time} {time}', { ...values, timeZone: 'UTC' }), '21:07 21:07');
  assert.equal(fillResponse('no placeholders', { ...values, timeZone: 'UTC' }), 'no placeholders');
});

test('the bot looks only at a person’s fresh text or caption in a 1:1 chat', () => {
  const now = 1_800_000_000;
  const message = (over: Partial<IncomingMessage>): IncomingMessage => ({
    id: 'X',
    chatId: '905551112233@s.whatsapp.net',
    from: '905551112233@s.whatsapp.net',
    to: '905550000000@s.whatsapp.net',
    fromMe: false,
    type: 'chat',
    body: 'fiyat',
    timestamp: now - 1,
    offline: false,
    ...over,
  });
  assert.equal(answerable(message({}), now), true);
  assert.equal(answerable(message({ chatId: '12345@lid' }), now), true);
  assert.equal(answerable(message({ type: 'image', body: 'fiyat' }), now), true, 'a caption');
  assert.equal(answerable(message({ timestamp: now - MAX_AGE_SECONDS }), now), true);
  const ignored: Array<[string, Partial<IncomingMessage>]> = [
    ['a group', { chatId: '120363000000000001@g.us' }],
    ['a status', { chatId: 'status@broadcast' }],
    ['a newsletter', { chatId: '120363000000000002@newsletter' }],
    ['our own message', { fromMe: true }],
    ['a history sync', { offline: true }],
    ['a message that waited while the instance was offline', { timestamp: now - MAX_AGE_SECONDS - 1 }],
    ['a reaction', { type: 'reaction', body: '👍' }],
    ['a poll', { type: 'poll', body: 'fiyat?' }],
    ['a text without text', { body: '' }],
  ];
  for (const [what, over] of ignored) assert.equal(answerable(message(over), now), false, what);
});
