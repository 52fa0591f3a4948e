/** One instance: its settings, a test message, the chatbot, campaigns, scheduled messages, a chat's messages and the webhook log. */
import { t } from '../i18n.js';
import { Campaigns } from './instance/Campaigns.js';
import { Chatbot } from './instance/Chatbot.js';
import { Deliveries } from './instance/Deliveries.js';
import { Messages } from './instance/Messages.js';
import { Scheduled } from './instance/Scheduled.js';
import { SendTest } from './instance/SendTest.js';
import { SettingsForm } from './instance/SettingsForm.js';

const SECTIONS = [
  { id: 'settings', title: 'detail.settings', Section: SettingsForm },
  { id: 'send', title: 'detail.send', Section: SendTest },
  { id: 'chatbot', title: 'detail.chatbot', Section: Chatbot },
  { id: 'campaigns', title: 'detail.campaigns', Section: Campaigns },
  { id: 'scheduled', title: 'detail.scheduled', Section: Scheduled },
  { id: 'messages', title: 'detail.messages', Section: Messages },
  { id: 'webhooks', title: 'detail.webhooks', Section: Deliveries },
] as const;

export function Instance({ id }: { id: string }) {
  return (
    <>
      <p>
        <a href="#/instances">← {t('nav.instances')}</a>
      </p>
      <h1>{t('detail.title', { id })}</h1>
      <nav class="sections" aria-label={t('detail.sections')}>
        {SECTIONS.map((s) => (
          <a
            href={`#/instances/${encodeURIComponent(id)}/${s.id}`}
            onClick={(e) => (e.preventDefault(), document.getElementById(s.id)?.scrollIntoView())}
          >
            {t(s.title)}
          </a>
        ))}
      </nav>
      {SECTIONS.map(({ id: section, title, Section }) => (
        <section class="card" id={section} aria-labelledby={`${section}-title`}>
          <h2 id={`${section}-title`}>{t(title)}</h2>
          <Section instance={id} />
        </section>
      ))}
    </>
  );
}
