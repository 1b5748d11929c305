import { join } from 'path';
import { REPO_ROOT } from '../infra/paths';
import { splitSamples } from './cpu-split';

const map = ' (/tmp/perf-4242.map)';
const js = (name: string, script: string) => `\t    7f00 JS:*${name} ${script}:10:5${map}`;
const native = (symbol: string) => `\t    14c0 ${symbol} (/usr/bin/node)`;
const sample = (...frames: string[]) => [' 4242 ', ...frames].join('\n');

describe('splitSamples', () => {
  it('charges each sample to its innermost JavaScript frame with a script, or to the collector or compiler on its stack', () => {
    const ordo = join(REPO_ROOT, 'dist/apps/coordinator/src/transactions/reply-tokens.js');
    const split = splitSamples(
      [
        // Compiled code without a script (an eval'd validator) is skipped for the next frame.
        sample(`\t    7f01 JS:*validate21 :3:89${map}`, js('encode', '/srv/node_modules/kafkajs/src/protocol/encoder.js'), native('uv_run')),
        sample(native('Builtins_CallApiCallback'), js('sign', ordo), js('next', '/srv/node_modules/router/index.js')),
        sample(js('prepareValue', '/srv/node_modules/pg/lib/utils.js')),
        sample(js('validate', '/srv/node_modules/@nestjs/common/pipes/validation.pipe.js')),
        sample(js('clearBuffer', 'node:internal/streams/writable')),
        // A scavenge triggered by an allocation in Ordo's code is the collector's time.
        sample(native('v8::internal::ScavengerCollector::CollectGarbage'), js('sign', ordo)),
        sample(native('v8::internal::ConcurrentMarking::JobTaskMajor::Run'), native('start_thread')),
        sample(native('v8::internal::OptimizingCompileDispatcher::CompileTask::RunInternal'), native('start_thread')),
        sample(native('epoll_wait'), native('uv__io_poll')),
        sample(js('counter', '/srv/node_modules/prom-client/lib/counter.js')),
        sample(js('left', '/srv/node_modules/left-pad/index.js')),
      ].join('\n\n') + '\n\n',
    );
    expect(split.samples).toBe(11);
    const eleventh = (n: number) => n / 11;
    expect(split.shares).toEqual({
      "Ordo's own code": eleventh(1),
      'HTTP framework and validation': eleventh(1),
      'Kafka client': eleventh(1),
      'PostgreSQL driver': eleventh(1),
      'metrics, tracing and logging': eleventh(1),
      'other packages': eleventh(1),
      'Node.js (sockets, streams, promises)': eleventh(1),
      'garbage collection': eleventh(2),
      'V8 compiler': eleventh(1),
      'no JavaScript on the stack (event loop, system calls)': eleventh(1),
    });
    expect(split.top.map((t) => t.name)).toEqual(
      expect.arrayContaining(['kafkajs', 'apps/coordinator/src/transactions', 'pg', '@nestjs/common', 'node', 'prom-client', 'left-pad']),
    );
    expect(split.top).toHaveLength(7);
  });

  it('finds nothing in an empty recording', () => {
    expect(splitSamples('').samples).toBe(0);
  });
});
