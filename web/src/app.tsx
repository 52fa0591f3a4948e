/** The shell: sign-in until there is a token, then the pages by the address's #fragment. */
import { useEffect } from 'preact/hooks';
import { signal } from '@preact/signals';
import { signOut, token } from './api.js';
import { language, setLanguage, t, type Language } from './i18n.js';
import { SignIn } from './pages/SignIn.js';
import { Instances } from './pages/Instances.js';
import { ApiAccess } from './pages/ApiAccess.js';
import { Instance } from './pages/Instance.js';

// The API access page was called Settings: its old address still leads there.
const address = () => (location.hash === '#/settings' ? '#/api-access' : location.hash) || '#/instances';
const route = signal(address());
addEventListener('hashchange', () => (route.value = address()));

const PAGES = [
  { hash: '#/instances', label: () => t('nav.instances'), page: Instances },
  { hash: '#/api-access', label: () => t('nav.access'), page: ApiAccess },
];

function LanguageSwitch() {
  return (
    <div class="language">
      <label for="language">{t('nav.language')}</label>
      <select id="language" value={language.value} onChange={(e) => setLanguage((e.target as HTMLSelectElement).value as Language)}>
        <option value="tr">Türkçe</option>
        <option value="en">English</option>
      </select>
    </div>
  );
}

export function App() {
  const current = PAGES.find((p) => route.value.startsWith(p.hash)) ?? PAGES[0]!;
  // `#/instances/{id}` (and a section after it) is one instance's page.
  const detail = route.value.match(/^#\/instances\/([^/]+)(?:\/([^/]+))?/);
  const id = detail && decodeURIComponent(detail[1]!);
  useEffect(() => {
    document.documentElement.lang = language.value;
    document.title = `${token.value ? `${id ? t('detail.title', { id }) : current.label()} · ` : ''}${t('app.title')}`;
  });
  if (!token.value) {
    return (
      <>
        <header>
          <strong class="brand">{t('app.title')}</strong>
          <LanguageSwitch />
        </header>
        <main>
          <SignIn />
        </main>
      </>
    );
  }
  const page = id ? <Instance id={id} section={detail[2]} /> : <current.page />;
  return (
    <>
      <header>
        <strong class="brand">{t('app.title')}</strong>
        <nav aria-label={t('app.title')}>
          {PAGES.map((p) => (
            <a href={p.hash} aria-current={p === current ? 'page' : undefined}>
              {p.label()}
            </a>
          ))}
        </nav>
        <LanguageSwitch />
        <button type="button" class="secondary" onClick={() => signOut()}>
          {t('nav.signOut')}
        </button>
      </header>
      <main>{page}</main>
    </>
  );
}
