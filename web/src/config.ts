// Where the router is. /config.js (served by the dev stack, the browser
// tests or a deployment's web server) sets it at start-up, so one build
// runs against any router.
export const graphqlUrl: string =
  window.TALENTGRAPH_CONFIG?.graphqlUrl ?? "http://127.0.0.1:4000/";

/**
 * How documents travel. The production build sends each operation by its
 * SHA-256 (Apollo's persisted-query extension) and its text only when the
 * router has not seen that id yet; the development build sends the text
 * every time, so an edited page file needs no registration.
 */
export const sendDocumentsById: boolean = import.meta.env.PROD;
