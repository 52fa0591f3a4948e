/** The pieces every form uses: a labelled field, and the line that says what went wrong or right. */
import type { ComponentChildren } from 'preact';

export function Field({
  id,
  label,
  hint,
  inline,
  children,
}: {
  id: string;
  label: string;
  hint?: string;
  inline?: boolean;
  children: ComponentChildren;
}) {
  return (
    <div class={inline ? 'field inline' : 'field'}>
      <label for={id}>{label}</label>
      {children}
      {hint && <p class="hint">{hint}</p>}
    </div>
  );
}

export function Alert({ error, notice, fallback }: { error?: string | null; notice?: string | null; fallback?: string }) {
  if (error)
    return (
      <p role="alert" class="error">
        {error}
      </p>
    );
  if (notice)
    return (
      <p role="status" class="notice">
        {notice}
      </p>
    );
  return fallback ? <p>{fallback}</p> : null;
}
