import type { DataSource } from 'typeorm';
import type { BaseContext } from '../../../lib/subgraph.js';
import { ChannelService } from '../services/channel.service.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface ChannelsContext extends BaseContext {
  channels: ChannelService;
  loaders: Loaders;
}

export function createContext(ds: DataSource) {
  const channels = new ChannelService(ds);
  return (base: BaseContext): ChannelsContext => ({ ...base, channels, loaders: createLoaders(channels) });
}
