import { useState } from 'preact/hooks';
import { api, ApiError, errorText, signIn, signInNotice } from '../api.js';
import { t } from '../i18n.js';

export function SignIn() {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(signInNotice.value);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Any token that can list instances can use the dashboard (an instance token sees its own).
      await api('GET', '/instance', undefined, value.trim());
      signInNotice.value = null;
      signIn(value.trim());
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? t('signIn.wrongToken') : errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card narrow">
      <h1>{t('signIn.title')}</h1>
      <form onSubmit={submit}>
        <label for="token">{t('signIn.token')}</label>
        <input
          id="token"
          type="password"
          autocomplete="current-password"
          required
          value={value}
          aria-describedby="token-hint"
          aria-invalid={error ? true : undefined}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
        <p id="token-hint" class="hint">
          {t('signIn.hint')}
        </p>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {t('signIn.submit')}
        </button>
      </form>
    </section>
  );
}
