// Vite builds two things from this directory:
//
// * the app (`vite build`, into dist/), which the dev stack serves and a
//   deployment puts behind its CDN;
// * the development-only GraphiQL page (`vite build --mode graphiql`, into
//   dist-graphiql/), which the dev stack serves at /graphiql/ and no
//   deployment ships.
//
// The app's GraphQL documents come from the repository's pages/ and
// operations/ directories through the virtual module
// `virtual:talentgraph-operations` below: the committed text, byte for
// byte, and its SHA-256. The router's trusted-documents check and the
// registry hash exactly that text, so the app must not reformat it.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

const repositoryRoot = resolve(import.meta.dirname, "..");
const operationDirectories = ["pages", "operations"];
const virtualModuleId = "virtual:talentgraph-operations";
const resolvedVirtualModuleId = "\0" + virtualModuleId;

interface CommittedOperation {
  name: string;
  kind: "query" | "mutation";
  text: string;
  sha256: string;
}

/** Reads every committed operation; the file name is the operation name. */
function committedOperations(): CommittedOperation[] {
  const operations: CommittedOperation[] = [];
  for (const directory of operationDirectories) {
    const path = join(repositoryRoot, directory);
    for (const file of readdirSync(path).sort()) {
      if (!file.endsWith(".graphql")) continue;
      const name = file.slice(0, -".graphql".length);
      const text = readFileSync(join(path, file), "utf8");
      const definition = new RegExp(`^(query|mutation)\\s+${name}\\b`, "m").exec(text);
      if (!definition) {
        throw new Error(`${directory}/${file} must define the operation ${name}`);
      }
      operations.push({
        name,
        kind: definition[1] as "query" | "mutation",
        text,
        sha256: createHash("sha256").update(text, "utf8").digest("hex"),
      });
    }
  }
  return operations;
}

/**
 * Serves the committed operations to the app and writes the persisted-query
 * manifest (Apollo's format) that `schema-check register-operations
 * --client web` registers with the schema registry.
 */
function talentgraphOperations(): Plugin {
  return {
    name: "talentgraph-operations",
    resolveId(id) {
      return id === virtualModuleId ? resolvedVirtualModuleId : undefined;
    },
    load(id) {
      if (id !== resolvedVirtualModuleId) return undefined;
      for (const directory of operationDirectories) {
        this.addWatchFile(join(repositoryRoot, directory));
      }
      const byName = Object.fromEntries(
        committedOperations().map((operation) => [operation.name, operation]),
      );
      return `export const committedOperations = ${JSON.stringify(byName)};`;
    },
    generateBundle() {
      const manifest = {
        format: "apollo-persisted-query-manifest",
        version: 1,
        operations: committedOperations().map((operation) => ({
          id: operation.sha256,
          name: operation.name,
          type: operation.kind,
          body: operation.text,
        })),
      };
      this.emitFile({
        type: "asset",
        fileName: "persisted-query-manifest.json",
        source: JSON.stringify(manifest, null, 2) + "\n",
      });
    },
  };
}

export default defineConfig(({ mode }) => {
  if (mode === "graphiql") {
    return {
      plugins: [react()],
      root: resolve(import.meta.dirname, "graphiql"),
      // /config.js comes from the server that serves the page.
      publicDir: false,
      base: "/graphiql/",
      build: {
        outDir: resolve(import.meta.dirname, "dist-graphiql"),
        emptyOutDir: true,
      },
    };
  }
  return {
    plugins: [react(), talentgraphOperations()],
    build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
    server: { host: "127.0.0.1", port: 5173, strictPort: true },
  };
});
