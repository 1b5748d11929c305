import { useState } from 'react';
import { api, FieldChange, VersionUsage } from './api';
import { ErrorNote, useLoad } from './ui';

const SIGN: Record<FieldChange['kind'], string> = { added: '+', removed: '−', changed: '~' };
const text = (value: unknown) => JSON.stringify(value);

function FieldLine({ change }: { change: FieldChange }) {
  return (
    <li className={`diff-${change.kind}`} data-path={change.path}>
      {SIGN[change.kind]} <span className="mono">{change.path}</span>:{' '}
      {change.kind === 'changed' ? (
        <>
          <del className="mono">{text(change.from)}</del> → <ins className="mono">{text(change.to)}</ins>
        </>
      ) : (
        <span className="mono">{text(change.kind === 'added' ? change.to : change.from)}</span>
      )}
    </li>
  );
}

/** Two versions of a definition side by side: pick them, read what changed, step by step. */
export function DefinitionDiff({ name, versions, shown }: { name: string; versions: VersionUsage[]; shown: number }) {
  const numbers = versions.map((v) => v.version);
  const [from, setFrom] = useState(Math.max(1, shown - 1));
  const [to, setTo] = useState(shown);
  const diff = useLoad(() => api.definitionDiff(name, from, to), [name, from, to]);
  const picker = (label: string, value: number, set: (v: number) => void) => (
    <label>
      {label}
      <select aria-label={`${label} version`} value={value} onChange={(e) => set(Number(e.target.value))}>
        {numbers.map((v) => (
          <option key={v} value={v}>
            v{v}
          </option>
        ))}
      </select>
    </label>
  );
  const d = diff.data;
  return (
    <section aria-labelledby="diff-title">
      <h3 id="diff-title">Compare versions</h3>
      <div className="filters">
        {picker('From', from, setFrom)}
        {picker('To', to, setTo)}
      </div>
      <ErrorNote error={diff.error} />
      {d && d.from === from && d.to === to && (
        <ul className="diff" aria-label={`Changes from v${from} to v${to}`}>
          {d.fields.map((change) => (
            <FieldLine key={change.path} change={change} />
          ))}
          {d.steps.map((step) => (
            <li key={step.id} className={`diff-${step.kind}`} data-step={step.id} data-kind={step.kind}>
              {SIGN[step.kind]} step <strong>{step.id}</strong> ({step.kind})
              <ul>
                {step.fields.map((change) => (
                  <FieldLine key={change.path} change={change} />
                ))}
              </ul>
            </li>
          ))}
          {d.fields.length + d.steps.length === 0 && <li>No difference.</li>}
        </ul>
      )}
    </section>
  );
}
