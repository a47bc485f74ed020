// Where the app finds the router. The dev stack and the browser tests serve
// their own /config.js in place of this file; this one is what `npm run dev`
// (Vite's server) uses: the router of `cargo run -p devstack -- up`.
window.TALENTGRAPH_CONFIG = { graphqlUrl: "http://127.0.0.1:4000/" };
