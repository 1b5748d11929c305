import { api } from './api';
import { Dag } from './Dag';
import { href } from './router';
import { ErrorNote, Json, useLoad, when } from './ui';

/** Definitions: the list; one's versions, its DAG and its canonical JSON. */
export function DefinitionsPage({ name, version }: { name?: string; version?: number }) {
  const list = useLoad(() => api.definitions(), []);
  const shown = useLoad(() => (name ? api.definition(name, version) : Promise.resolve(null)), [name, version]);
  const summary = list.data?.items.find((d) => d.name === name);
  return (
    <section aria-labelledby="defs-title">
      <h1 id="defs-title">Definitions</h1>
      <ErrorNote error={list.error ?? shown.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Latest version</th>
            <th scope="col">Registered</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((d) => (
            <tr key={d.name} className={d.name === name ? 'selected' : ''}>
              <td>
                <a href={href('definitions', d.name)} aria-current={d.name === name ? 'page' : undefined}>
                  {d.name}
                </a>
              </td>
              <td>{d.type}</td>
              <td>v{d.latestVersion}</td>
              <td>
                {when(d.createdAt)}
                {d.registeredBy && ` by ${d.registeredBy}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.data && (
        <>
          <h2>
            {shown.data.name} v{shown.data.version} <span className="muted">({shown.data.type})</span>
          </h2>
          {summary && (
            <nav className="versions" aria-label="Versions">
              Versions:{' '}
              {Array.from({ length: summary.latestVersion }, (_, i) => i + 1).map((v) => (
                <a key={v} href={href('definitions', summary.name, v)} aria-current={v === shown.data!.version ? 'page' : undefined}>
                  v{v}
                </a>
              ))}
            </nav>
          )}
          <Dag steps={shown.data.definition.steps} />
          <h3>JSON</h3>
          <Json value={shown.data.definition} />
        </>
      )}
    </section>
  );
}
