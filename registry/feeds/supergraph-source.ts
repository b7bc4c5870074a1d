import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { isDatabaseUnavailable } from '../../lib/db.js';
import { servableSupergraph, type ContractSchemas } from '../../contracts/supergraph.js';
import { contractSchemaOf } from '../domain/contracts.js';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import { sdlHash } from '../domain/sdl-hash.js';
import type { RegistryService } from '../services/registry.service.js';

export const SUPERGRAPH_VERSION_HEADER = 'x-supergraph-version';

/**
 * The gateway's supergraph from the registry: a SupergraphSdlHook that loads the newest version of
 * its environment (REGISTRY_ENVIRONMENT) and polls the registry database for a newer one, handing it to @apollo/gateway's update() (which
 * lets requests already executing finish on the schema they started with). Its plugin tags every
 * response with the version of the schema that served it: each schema the gateway loads is mapped
 * to its version when it is loaded, so a request answered after a newer version arrived still
 * names its own. With each version it loads the contracts' API schemas of that version, which the
 * gateway validates the operations of callers on a contract against.
 */
export class RegistrySupergraph implements ContractSchemas {
  /** The contracts' schemas of the loaded version, by contract name. */
  private contracts = new Map<string, GraphQLSchema>();
  /** Supergraph SDL hash → version, filled before the SDL is handed to the gateway. */
  private readonly versionOfSdl = new Map<string, number>();
  private readonly versionOfSchema = new WeakMap<GraphQLSchema, number>();
  private loaded = 0;
  /** The API schema the gateway serves now and its SDL's hash. */
  private serving: { apiSchema: GraphQLSchema; hash: string } | null = null;
  private polling = false;
  private registryUnreachable = false;

  constructor(
    private readonly service: RegistryService,
    private readonly pollMs: number,
    private readonly log: Logger,
    /** The registry environment whose supergraph it serves. */
    readonly environment: string,
  ) {}

  schemaOf(name: string): GraphQLSchema | undefined {
    return this.contracts.get(name);
  }

  /** Builds the contract schemas of a version (before its supergraph is handed to the gateway). */
  private async loadContracts(version: number): Promise<void> {
    const versions = await this.service.contracts.versionsOf(version);
    this.contracts = new Map(versions.map((v) => [v.contract, contractSchemaOf(v.sdl)]));
  }

  /** The newest version handed to the gateway. */
  get version(): number {
    return this.loaded;
  }

  readonly hook: SupergraphSdlHook = async ({ update }) => {
    const latest = await this.service.history.supergraph(null, this.environment);
    if (!latest) throw new Error(`The schema registry holds no supergraph of ${this.environment} yet (it is seeded from supergraph.yaml when the gateway starts)`);
    // Hashed as the gateway will see it (servable: see contracts/supergraph.ts), to name its version.
    const sdl = servableSupergraph(latest.sdl);
    await this.loadContracts(latest.id);
    this.versionOfSdl.set(sdlHash(sdl), latest.id);
    this.loaded = latest.id;
    const timer = setInterval(() => void this.poll(update), this.pollMs);
    timer.unref();
    return { supergraphSdl: sdl, cleanup: async () => clearInterval(timer) };
  };

  private async poll(update: (sdl: string) => void): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const newest = await this.service.history.latestSupergraphVersion(this.environment);
      if (this.registryUnreachable) this.log.info({ loaded: this.loaded }, 'registry database reachable again');
      this.registryUnreachable = false;
      if (newest <= this.loaded) return;
      const next = await this.service.history.supergraph(newest, this.environment);
      if (!next) return;
      const sdl = servableSupergraph(next.sdl);
      await this.loadContracts(next.id);
      const hash = sdlHash(sdl);
      this.versionOfSdl.set(hash, next.id);
      // A version that only changed contracts has the SDL being served: the gateway keeps its schema, which now answers for this version.
      if (this.serving?.hash === hash) this.versionOfSchema.set(this.serving.apiSchema, next.id);
      update(sdl);
      this.log.info({ from: this.loaded, to: next.id, environment: this.environment }, 'supergraph updated from the registry');
      this.loaded = next.id;
    } catch (err) {
      // The gateway keeps serving the version it has; the next poll tries again. An unreachable
      // database is logged once per outage (at warn), not once per poll.
      if (!isDatabaseUnavailable(err)) this.log.error({ err, loaded: this.loaded }, 'supergraph poll failed');
      else if (!this.registryUnreachable) this.log.warn({ err, loaded: this.loaded }, 'registry database unreachable; serving the loaded supergraph');
      this.registryUnreachable = isDatabaseUnavailable(err);
    } finally {
      this.polling = false;
    }
  }

  /** Sets `x-supergraph-version` on every response from the version of the schema that served it. */
  plugin<C extends BaseContext>(): ApolloServerPlugin<C> {
    return {
      serverWillStart: async () => ({
        schemaDidLoadOrUpdate: ({ apiSchema, coreSupergraphSdl }) => {
          const hash = coreSupergraphSdl ? sdlHash(coreSupergraphSdl) : undefined;
          const version = hash ? this.versionOfSdl.get(hash) : undefined;
          if (version !== undefined) this.versionOfSchema.set(apiSchema, version);
          if (hash) this.serving = { apiSchema, hash };
        },
      }),
      requestDidStart: async () => ({
        willSendResponse: async (rc) => {
          const version = this.versionOfSchema.get(rc.schema);
          if (version !== undefined) rc.response.http.headers.set(SUPERGRAPH_VERSION_HEADER, String(version));
        },
      }),
    };
  }
}
