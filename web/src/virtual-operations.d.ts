// The committed operations, served by the plugin in vite.config.ts.
declare module "virtual:talentgraph-operations" {
  export interface CommittedOperation {
    name: string;
    kind: "query" | "mutation";
    /** The file's text, byte for byte: what the registry hashed. */
    text: string;
    /** SHA-256 of `text`, hex: the id production sends. */
    sha256: string;
  }
  export const committedOperations: Record<string, CommittedOperation>;
}

interface Window {
  TALENTGRAPH_CONFIG?: { graphqlUrl?: string };
}
