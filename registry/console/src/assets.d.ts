/** Style sheets imported by the console's entry: esbuild bundles them into console.css. */
declare module '*.css';
