import { FormEvent, StrictMode, useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { api, Principal, storedKey, storeKey } from './api';
import { DefinitionsPage } from './DefinitionsPage';
import { InDoubtPage } from './InDoubtPage';
import { OverviewPage } from './OverviewPage';
import { href, useRoute } from './router';
import { TransactionPage } from './TransactionPage';
import { TransactionsPage } from './TransactionsPage';
import { ErrorNote } from './ui';
import './styles.css';

/** Asks for an API key; it is kept in sessionStorage (this tab only) and sent as a bearer token. */
function Login({ onLogin }: { onLogin: (me: Principal) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const me = await api.me(key.trim());
      storeKey(key.trim());
      onLogin(me);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <main className="login">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">Ordo</h1>
        <label>
          API key
          <input type="password" autoFocus autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} required />
        </label>
        <ErrorNote error={error} />
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
    </main>
  );
}

function App() {
  const [me, setMe] = useState<Principal | null>(null);
  const [checking, setChecking] = useState(!!storedKey());
  const route = useRoute();
  useEffect(() => {
    const key = storedKey();
    if (key)
      api
        .me(key)
        .then(setMe, () => storeKey(null))
        .finally(() => setChecking(false));
  }, []);
  // After following a link, keyboard and screen-reader users start at the new page's content.
  const path = route.join('/');
  const shownPath = useRef(path);
  useEffect(() => {
    if (shownPath.current !== path) document.getElementById('main')?.focus();
    shownPath.current = path;
  }, [path]);
  if (checking) return <p>Loading…</p>;
  if (!me) return <Login onLogin={setMe} />;
  const [page, a, b] = route;
  const nav = (to: string, label: string) => (
    <a href={href(to)} aria-current={page === to ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <strong className="brand">Ordo</strong>
        <nav aria-label="Main">
          {nav('transactions', 'Transactions')}
          {nav('definitions', 'Definitions')}
          {nav('overview', 'Overview')}
          {nav('in-doubt', 'In doubt')}
        </nav>
        <span className="who">
          {me.name} · <span data-role={me.role}>{me.role}</span>
        </span>
        <button
          type="button"
          onClick={() => {
            storeKey(null);
            setMe(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page === 'transactions' && a && <TransactionPage key={a} id={a} me={me} />}
        {page === 'transactions' && !a && <TransactionsPage me={me} />}
        {page === 'definitions' && <DefinitionsPage name={a} version={b ? Number(b) : undefined} />}
        {page === 'overview' && <OverviewPage me={me} />}
        {page === 'in-doubt' && <InDoubtPage me={me} />}
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
