// GraphQL Code Generator: TypeScript types for every committed operation.
//
// The documents are the repository's pages/ and operations/ files as they
// are; nothing is copied into the app. The schema is the client-facing API
// schema the registry composes (`schema-check compose --api-schema`), so a
// field the supergraph hides cannot be typed here. `npm run codegen:check`
// fails when src/generated is stale.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["../pages/*.graphql", "../operations/*.graphql"],
  ignoreNoDocuments: false,
  generates: {
    "src/generated/": {
      preset: "client",
      presetConfig: {
        // The app sends the committed text itself (see vite.config.ts), so
        // the preset's own graphql() tag and fragment masking are not used.
        fragmentMasking: false,
        gqlTagName: "graphql",
      },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: "string", NaiveDate: "string" },
      },
    },
  },
};

export default config;
