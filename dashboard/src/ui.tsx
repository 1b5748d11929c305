import { KeyboardEvent, ReactNode, useEffect, useRef, useState } from 'react';

export const STATUS_COLORS: Record<string, string> = {
  pending: '#9aa5b1',
  running: '#2f80ed',
  succeeded: '#27ae60',
  completed: '#27ae60',
  failed: '#d64545',
  compensation_failed: '#d64545',
  compensating: '#e8a33d',
  compensated: '#8e6fd8',
  skipped: '#c3c9d0',
  paused: '#4b5563',
};

export function Badge({ status }: { status: string }) {
  return (
    <span className="badge" style={{ background: STATUS_COLORS[status] ?? '#777' }}>
      {status}
    </span>
  );
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
/** Local time of day to the millisecond (of an ISO instant or epoch ms): history entries are often milliseconds apart. */
export const clock = (at: string | number) => {
  const d = new Date(at);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
};
export const percent = (share: number) => `${(share * 100).toFixed(1)} %`;
/** "1.234 s" or "87 ms". */
export const duration = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(3)} s` : `${Math.round(ms)} ms`);
export const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

export function Json({ value }: { value: unknown }) {
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error)}
    </p>
  );
}

const FOCUSABLE = 'button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), a[href]';

/** Keeps Tab and Shift+Tab inside the element handling the event, wrapping around at either end. */
function trapTab(event: KeyboardEvent<HTMLElement>) {
  if (event.key !== 'Tab') return;
  const focusable = [...event.currentTarget.querySelectorAll<HTMLElement>(FOCUSABLE)];
  const [first, last] = [focusable[0], focusable[focusable.length - 1]];
  if (!first) return;
  const active = document.activeElement;
  if (event.shiftKey ? active === first : active === last) {
    event.preventDefault();
    (event.shiftKey ? last : first).focus();
  }
}

/**
 * A confirmation dialog: the native modal <dialog> makes the page behind it inert and closes
 * on Escape; Tab wraps inside it rather than leaving for the browser's own controls.
 * `onConfirm` rejecting keeps it open with the error.
 */
export function ConfirmDialog(props: {
  title: string;
  confirmLabel: string;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
  children?: ReactNode;
  canConfirm?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm();
      props.onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} onClose={props.onClose} onKeyDown={trapTab} aria-labelledby="dialog-title">
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          void confirm();
        }}
      >
        <h2 id="dialog-title">{props.title}</h2>
        {props.children}
        <ErrorNote error={error} />
        <div className="buttons">
          <button type="button" onClick={() => ref.current?.close()}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || props.canConfirm === false}>
            {busy ? 'Working…' : props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** Loads with `load` now and whenever `deps` change; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: unknown; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (value) => live && (setData(value), setError(null)),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}
