/** A partner's first steps, as a page: what to install, how to publish, what a check says. */
export function StartPage() {
  const origin = location.origin;
  return (
    <section aria-labelledby="start-heading" class="section start">
      <h2 id="start-heading" tabIndex={-1}>
        A partner's first steps
      </h2>
      <p>You run a subgraph (a pricing service, a 3PL, a marketplace integration) and want its fields in the Omnistock graph. The registry checks every change before the gateway serves it.</p>

      <h3>1. Get a key</h3>
      <p>
        An operator issues your team a key scoped to your subgraph, in this console (<em>API keys</em>, admins only) or with <code>omnistock keys create</code>. For a
        subgraph <code>pricing</code> it carries <code>registry:check:pricing</code> and <code>registry:publish:pricing</code>. It is shown once: keep it secret. The
        operator also allows the host your subgraph runs on.
      </p>

      <h3>2. Install</h3>
      <p>
        Any Apollo Federation 2 subgraph server works, e.g. Node with <code>@apollo/subgraph</code>. Extend an entity by its key and describe every type and field:
      </p>
      <pre>
        <code>{`npm install @apollo/server @apollo/subgraph graphql

extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

"A stock-keeping unit; the pricing team adds its price."
type InventoryItem @key(fields: "sku") {
  "The stock-keeping unit code."
  sku: String!
  "The current selling price; null when the SKU has none."
  price: Money
}`}</code>
      </pre>

      <h3>3. Check, then publish</h3>
      <p>With the Omnistock CLI (from this repository) or any GraphQL client against <code>{origin}/registry/graphql</code>, your key in <code>Authorization: Bearer</code>:</p>
      <pre>
        <code>{`export REGISTRY_URL=${origin}/registry/graphql
export REGISTRY_TOKEN=osk_…   # your key
npm run omnistock -- registry check pricing --schema pricing.graphql --routing-url https://pricing.example.com/graphql
npm run omnistock -- registry publish pricing --schema pricing.graphql --routing-url https://pricing.example.com/graphql --commit v1`}</code>
      </pre>
      <p>A publish that passes becomes a new supergraph version; every gateway serves it within a second or two.</p>
      <p>
        Where production takes changes only by promotion, publish to staging (<code>--env staging</code>, your staging URL), try it there, then promote:{' '}
        <code>registry promote pricing --from staging --to production</code>, or in this console pick <strong>staging</strong> in the header's{' '}
        <em>Environment</em> and use <em>Promote</em> on your subgraph's page (with <code>registry:promote:&lt;subgraph&gt;</code>). A promotion is checked again
        against production.
      </p>

      <h3>4. What a check says</h3>
      <dl>
        <dt>Composition</dt>
        <dd>Whether your schema composes with every other subgraph; an error names its code and the subgraphs involved.</dd>
        <dt>Changes</dt>
        <dd>
          Each client-facing change is <strong>SAFE</strong>, <strong>DANGEROUS</strong> or <strong>BREAKING</strong>. It is breaking only when a client used what it breaks in the usage
          window: the check names those clients and operations. A breaking change needs an approval by fingerprint (<code>registry:approve:&lt;subgraph&gt;</code> or an admin) before it
          publishes.
        </dd>
        <dt>Lint</dt>
        <dd>Descriptions on every type and field, naming conventions, and deprecations that name a replacement and a removal date (<code>Use `x`. Removal: YYYY-MM-DD</code>).</dd>
        <dt>Registered documents, takeovers, endpoints</dt>
        <dd>Trusted documents your change would invalidate, fields other teams resolve that you would take over, and routing URLs the gateway may not call.</dd>
      </dl>
      <p>
        In this console, <a href="#/checks">Checks</a> lists your check runs with their verdicts and <a href="#/explorer">the schema explorer</a> shows who uses each field before you change it.
      </p>
    </section>
  );
}
