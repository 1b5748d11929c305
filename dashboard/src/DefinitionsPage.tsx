import { api } from './api';
import { Dag } from './Dag';
import { DefinitionDiff } from './DefinitionDiff';
import { href } from './router';
import { ErrorNote, Json, useLoad, when } from './ui';

/** Definitions: the list; one's versions (with their running transactions), its DAG, a diff between two versions, its canonical JSON. */
export function DefinitionsPage({ name, version }: { name?: string; version?: number }) {
  const list = useLoad(() => api.definitions(), []);
  const shown = useLoad(() => (name ? api.definition(name, version) : Promise.resolve(null)), [name, version]);
  const versions = useLoad(() => (name ? api.definitionVersions(name) : Promise.resolve(null)), [name]);
  return (
    <section aria-labelledby="defs-title">
      <h1 id="defs-title">Definitions</h1>
      <ErrorNote error={list.error ?? shown.error ?? versions.error} />
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
          {versions.data && (
            <table className="versions" aria-label="Versions">
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Registered</th>
                  <th scope="col">Running transactions</th>
                </tr>
              </thead>
              <tbody>
                {versions.data.items.map((v) => (
                  <tr key={v.version} data-version={v.version}>
                    <td>
                      <a
                        href={href('definitions', shown.data!.name, v.version)}
                        aria-current={v.version === shown.data!.version ? 'page' : undefined}
                      >
                        v{v.version}
                      </a>
                    </td>
                    <td>
                      {when(v.createdAt)}
                      {v.registeredBy && ` by ${v.registeredBy}`}
                    </td>
                    <td data-running>{v.running}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Dag steps={shown.data.definition.steps} />
          {versions.data && versions.data.items.length > 1 && (
            <DefinitionDiff
              key={`${shown.data.name}@${shown.data.version}`}
              name={shown.data.name}
              versions={versions.data.items}
              shown={shown.data.version}
            />
          )}
          <h3>JSON</h3>
          <Json value={shown.data.definition} />
        </>
      )}
    </section>
  );
}
