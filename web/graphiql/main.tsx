// GraphiQL bundled from npm, for development only: the dev stack serves it
// at /graphiql/ against its router (whose development profile allows
// introspection). Nothing is loaded from a CDN.
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import "graphiql/style.css";

const url = window.TALENTGRAPH_CONFIG?.graphqlUrl ?? "http://127.0.0.1:4000/";
const fetcher = createGraphiQLFetcher({ url });
const root = document.getElementById("graphiql");
if (!root) throw new Error("no #graphiql element");
createRoot(root).render(<GraphiQL fetcher={fetcher} />);
