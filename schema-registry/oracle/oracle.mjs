// Runs the reference implementations on one case read from standard input
// and prints the outcome as JSON. Used by schema-registry/tests/agreement.rs.
//
//   {"kind":"compose","subgraphs":[{"name":"a","url":"http://a","sdl":"..."}]}
//     -> {"ok":true} | {"ok":false,"codes":["INVALID_FIELD_SHARING", ...]}
//   {"kind":"bench-compose","subgraphs":[...],"iterations":N}
//     -> {"milliseconds":[...]}  (composition timed in-process)
//   {"kind":"diff","old":"<sdl>","new":"<sdl>"}
//     -> {"changes":[{"criticality":"BREAKING|DANGEROUS|SAFE","type":"FIELD_REMOVED","path":"Type.field"}]}
import { readFileSync } from 'node:fs';
import { parse, buildSchema } from 'graphql';
import { composeServices } from '@apollo/composition';
import { diff, CriticalityLevel } from '@graphql-inspector/core';

const request = JSON.parse(readFileSync(0, 'utf8'));

async function run() {
  if (request.kind === 'compose') {
    let services;
    try {
      services = request.subgraphs.map((subgraph) => ({
        name: subgraph.name,
        url: subgraph.url,
        typeDefs: parse(subgraph.sdl),
      }));
    } catch (error) {
      return { ok: false, codes: ['INVALID_GRAPHQL'], messages: [String(error.message)] };
    }
    const result = composeServices(services);
    if (result.errors && result.errors.length > 0) {
      return {
        ok: false,
        codes: result.errors.map((error) => error.extensions?.code ?? 'UNKNOWN'),
        messages: result.errors.map((error) => error.message),
      };
    }
    return { ok: true };
  }
  if (request.kind === 'bench-compose') {
    // Times composition alone, in this process, after one warm-up run.
    const services = request.subgraphs.map((subgraph) => ({
      name: subgraph.name,
      url: subgraph.url,
      typeDefs: parse(subgraph.sdl),
    }));
    composeServices(services);
    const milliseconds = [];
    for (let run = 0; run < request.iterations; run += 1) {
      const started = process.hrtime.bigint();
      const result = composeServices(services);
      milliseconds.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (result.errors && result.errors.length > 0) {
        throw new Error(`composition failed: ${result.errors[0].message}`);
      }
    }
    return { milliseconds };
  }
  if (request.kind === 'diff') {
    const changes = await diff(buildSchema(request.old), buildSchema(request.new));
    const level = {
      [CriticalityLevel.Breaking]: 'BREAKING',
      [CriticalityLevel.Dangerous]: 'DANGEROUS',
      [CriticalityLevel.NonBreaking]: 'SAFE',
    };
    return {
      changes: changes.map((change) => ({
        criticality: level[change.criticality.level],
        type: change.type,
        path: change.path ?? '',
        message: change.message,
      })),
    };
  }
  throw new Error(`unknown request kind ${request.kind}`);
}

run()
  .then((result) => process.stdout.write(JSON.stringify(result)))
  .catch((error) => {
    process.stderr.write(String(error?.stack ?? error));
    process.exit(2);
  });
