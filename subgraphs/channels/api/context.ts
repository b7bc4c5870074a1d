import type { DataSource } from 'typeorm';
import type { BaseContext } from '../../../lib/subgraph.js';
import { ChannelService } from '../services/channel.service.js';
import { SetAsideService } from '../services/set-aside.service.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface ChannelsContext extends BaseContext {
  channels: ChannelService;
  setAsides: SetAsideService;
  loaders: Loaders;
}

export function createContext(ds: DataSource) {
  const channels = new ChannelService(ds);
  const setAsides = new SetAsideService(ds);
  return (base: BaseContext): ChannelsContext => ({ ...base, channels, setAsides, loaders: createLoaders(channels, base.reads) });
}
