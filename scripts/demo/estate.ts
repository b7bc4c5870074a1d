import { v5 as uuidv5 } from 'uuid';
import type { SeedChannel } from '../../subgraphs/channels/data/seed.js';
import type { SeedLocation } from '../../subgraphs/locations/data/seed.js';

/**
 * The demo estate: a UK retailer with 3 warehouses/DCs, 25 stores in 11 cities (real coordinates)
 * and 6 channels. Ids are UUID v5 of the code, so every subgraph's seed derives the same ids
 * without reading another subgraph's tables.
 */
const NAMESPACE = '7d1f6a4e-3c2b-4e59-9a43-0b5a8f0c2d11';

export function demoId(kind: 'location' | 'channel', code: string): string {
  return uuidv5(`${kind}:${code}`, NAMESPACE);
}

export type DemoLocationType = SeedLocation['type'];

/** The demo's rows are what the locations seeder takes. */
export type DemoLocation = SeedLocation;

/** The demo's rows are what the channels seeder takes. */
export type DemoChannel = SeedChannel;

type Row = [code: string, name: string, type: DemoLocationType, line1: string, city: string, region: string, postcode: string, lat: number, lng: number, ships: boolean];

const ROWS: Row[] = [
  ['DC-DAV', 'Daventry National DC', 'DISTRIBUTION_CENTER', 'DIRFT Logistics Park', 'Daventry', 'England', 'NN6 7GZ', 52.3467, -1.1803, true],
  ['WH-WAR', 'Warrington North Warehouse', 'WAREHOUSE', 'Omega Boulevard', 'Warrington', 'England', 'WA5 7WN', 53.4147, -2.6442, true],
  ['WH-BEL', 'Bellshill Scotland Warehouse', 'WAREHOUSE', 'Righead Industrial Estate', 'Bellshill', 'Scotland', 'ML4 3LR', 55.8170, -4.0260, true],
  ['STR-LON-01', 'London Oxford Street', 'STORE', '318 Oxford Street', 'London', 'England', 'W1C 1HF', 51.5154, -0.1410, true],
  ['STR-LON-02', 'London Covent Garden', 'STORE', '12 Long Acre', 'London', 'England', 'WC2E 9LH', 51.5117, -0.1240, false],
  ['STR-LON-03', 'London Canary Wharf', 'STORE', 'Canada Place', 'London', 'England', 'E14 5AH', 51.5054, -0.0235, false],
  ['STR-LON-04', 'London Westfield Stratford', 'STORE', 'Montfichet Road', 'London', 'England', 'E20 1EJ', 51.5432, -0.0065, true],
  ['STR-LON-05', 'London Kensington High Street', 'STORE', '99 Kensington High Street', 'London', 'England', 'W8 5SA', 51.5010, -0.1930, false],
  ['STR-MAN-01', 'Manchester Arndale', 'STORE', 'Market Street', 'Manchester', 'England', 'M4 3AQ', 53.4833, -2.2389, true],
  ['STR-MAN-02', 'Manchester Trafford Centre', 'STORE', 'Peel Avenue', 'Manchester', 'England', 'M17 8AA', 53.4668, -2.3473, false],
  ['STR-MAN-03', 'Manchester Piccadilly', 'STORE', 'Station Approach', 'Manchester', 'England', 'M60 7RA', 53.4774, -2.2309, false],
  ['STR-BHM-01', 'Birmingham Bullring', 'STORE', 'St Martin\'s Square', 'Birmingham', 'England', 'B5 4BE', 52.4774, -1.8939, true],
  ['STR-BHM-02', 'Birmingham Grand Central', 'STORE', 'Stephenson Street', 'Birmingham', 'England', 'B2 4XJ', 52.4777, -1.8986, false],
  ['STR-BHM-03', 'Merry Hill', 'STORE', 'Pedmore Road', 'Brierley Hill', 'England', 'DY5 1QX', 52.4812, -2.1118, false],
  ['STR-LDS-01', 'Leeds Trinity', 'STORE', 'Albion Street', 'Leeds', 'England', 'LS1 5AT', 53.7958, -1.5446, false],
  ['STR-LDS-02', 'Leeds White Rose', 'STORE', 'Dewsbury Road', 'Leeds', 'England', 'LS11 8LU', 53.7581, -1.5757, false],
  ['STR-GLA-01', 'Glasgow Buchanan Galleries', 'STORE', '220 Buchanan Street', 'Glasgow', 'Scotland', 'G1 2FF', 55.8627, -4.2529, true],
  ['STR-GLA-02', 'Glasgow Silverburn', 'STORE', 'Barrhead Road', 'Glasgow', 'Scotland', 'G53 6AG', 55.8224, -4.3394, false],
  ['STR-EDI-01', 'Edinburgh Princes Street', 'STORE', '48 Princes Street', 'Edinburgh', 'Scotland', 'EH2 2YJ', 55.9533, -3.1960, false],
  ['STR-EDI-02', 'Edinburgh Ocean Terminal', 'STORE', 'Ocean Drive', 'Edinburgh', 'Scotland', 'EH6 6JJ', 55.9806, -3.1773, false],
  ['STR-BRS-01', 'Bristol Cabot Circus', 'STORE', 'Glass House', 'Bristol', 'England', 'BS1 3BX', 51.4590, -2.5840, false],
  ['STR-BRS-02', 'Bristol Cribbs Causeway', 'STORE', 'The Mall', 'Bristol', 'England', 'BS34 5DG', 51.5246, -2.5961, false],
  ['STR-LIV-01', 'Liverpool ONE', 'STORE', '5 Wall Street', 'Liverpool', 'England', 'L1 8JQ', 53.4036, -2.9866, false],
  ['STR-LIV-02', 'Liverpool Bold Street', 'STORE', '60 Bold Street', 'Liverpool', 'England', 'L1 4EA', 53.4017, -2.9787, false],
  ['STR-NCL-01', 'Newcastle Eldon Square', 'STORE', 'Old Eldon Square', 'Newcastle upon Tyne', 'England', 'NE1 7JG', 54.9750, -1.6150, false],
  ['STR-NCL-02', 'Newcastle Metrocentre', 'STORE', 'Metrocentre', 'Gateshead', 'England', 'NE11 9YG', 54.9593, -1.6660, false],
  ['STR-CDF-01', 'Cardiff St David\'s', 'STORE', 'St David\'s Dewi Sant', 'Cardiff', 'Wales', 'CF10 2EF', 51.4786, -3.1747, false],
  ['STR-BFS-01', 'Belfast Victoria Square', 'STORE', '1 Victoria Square', 'Belfast', 'Northern Ireland', 'BT1 4QG', 54.5993, -5.9270, false],
];

export const DEMO_LOCATIONS: DemoLocation[] = ROWS.map(([code, name, type, line1, city, region, postalCode, latitude, longitude, ships]) => ({
  id: demoId('location', code),
  code,
  name,
  type,
  line1,
  city,
  region,
  postalCode,
  countryCode: 'GB',
  timezone: 'Europe/London',
  latitude,
  longitude,
  ships,
  pickup: type === 'STORE',
}));

const loc = (code: string) => demoId('location', code);
const stores = DEMO_LOCATIONS.filter((l) => l.type === 'STORE');
const londonStores = stores.filter((l) => l.city === 'London');
const fulfilment = ['DC-DAV', 'WH-WAR', 'WH-BEL'];

function channel(c: Omit<DemoChannel, 'id'>): DemoChannel {
  return { id: demoId('channel', c.code), ...c };
}

export const DEMO_CHANNELS: DemoChannel[] = [
  channel({
    code: 'WEB-UK',
    name: 'UK web storefront',
    type: 'WEB_STOREFRONT',
    marketplace: null,
    priority: 100,
    // Warehouses first, then ship-from-store and click-and-collect from every store.
    sources: [
      ...fulfilment.map((code, i) => ({ locationId: loc(code), priority: i + 1 })),
      ...stores.map((s) => ({ locationId: s.id, priority: 10 })),
    ],
    buffer: { kind: 'UNITS', value: 2 },
    cap: null,
    allowSplitShipments: true,
  }),
  channel({
    code: 'POS-UK',
    name: 'UK stores point of sale',
    type: 'POS',
    marketplace: null,
    priority: 90,
    sources: stores.map((s) => ({ locationId: s.id, priority: 1 })),
    buffer: null,
    cap: null,
    allowSplitShipments: false,
  }),
  channel({
    code: 'AMAZON-UK',
    name: 'Amazon UK seller account',
    type: 'MARKETPLACE',
    marketplace: 'AMAZON',
    priority: 70,
    sources: fulfilment.map((code, i) => ({ locationId: loc(code), priority: i + 1 })),
    buffer: { kind: 'PERCENT', value: 10 },
    cap: 500,
    allowSplitShipments: false,
  }),
  channel({
    code: 'EBAY-UK',
    name: 'eBay UK shop',
    type: 'MARKETPLACE',
    marketplace: 'EBAY',
    priority: 50,
    sources: [{ locationId: loc('WH-WAR'), priority: 1 }, { locationId: loc('WH-BEL'), priority: 2 }],
    buffer: { kind: 'UNITS', value: 5 },
    cap: 100,
    allowSplitShipments: false,
  }),
  channel({
    code: 'WALMART-US',
    name: 'Walmart Marketplace (cross-border)',
    type: 'MARKETPLACE',
    marketplace: 'WALMART',
    priority: 40,
    sources: [{ locationId: loc('DC-DAV'), priority: 1 }],
    buffer: { kind: 'PERCENT', value: 20 },
    cap: 250,
    allowSplitShipments: false,
  }),
  channel({
    code: 'SHOPIFY-OUTLET',
    name: 'Outlet store on Shopify',
    type: 'MARKETPLACE',
    marketplace: 'SHOPIFY',
    priority: 30,
    sources: [{ locationId: loc('DC-DAV'), priority: 1 }, ...londonStores.map((s) => ({ locationId: s.id, priority: 5 }))],
    buffer: { kind: 'UNITS', value: 1 },
    cap: null,
    allowSplitShipments: true,
  }),
];

const ADJECTIVES = ['Classic', 'Organic', 'Slim', 'Relaxed', 'Merino', 'Linen', 'Waterproof', 'Recycled', 'Heritage', 'Everyday'];
const PRODUCTS = ['T-Shirt', 'Chinos', 'Parka', 'Jumper', 'Trainers', 'Hoodie', 'Shirt', 'Jeans', 'Backpack', 'Scarf'];
const COLOURS = ['Navy', 'Black', 'Stone', 'Olive', 'Red', 'White', 'Grey', 'Camel'];
const SIZES = ['XS', 'S', 'M', 'L', 'XL'];

export interface DemoItem {
  sku: string;
  name: string;
  description: string;
  barcode: string;
}

/** SKU number i of the demo catalogue: deterministic, so reruns and benchmarks agree. */
export function demoItem(i: number): DemoItem {
  const adjective = ADJECTIVES[i % ADJECTIVES.length]!;
  const product = PRODUCTS[Math.floor(i / ADJECTIVES.length) % PRODUCTS.length]!;
  const colour = COLOURS[Math.floor(i / 100) % COLOURS.length]!;
  const size = SIZES[Math.floor(i / 800) % SIZES.length]!;
  const base = String(500_000_000_000 + i).padStart(12, '0');
  return {
    sku: `SKU-${String(i).padStart(6, '0')}`,
    name: `${adjective} ${product} ${colour} ${size}`,
    description: `${adjective} ${product.toLowerCase()} in ${colour.toLowerCase()}, size ${size}.`,
    barcode: `${base}${ean13CheckDigit(base)}`,
  };
}

function ean13CheckDigit(twelve: string): number {
  const sum = [...twelve].reduce((acc, d, idx) => acc + Number(d) * (idx % 2 === 0 ? 1 : 3), 0);
  return (10 - (sum % 10)) % 10;
}

/**
 * Which locations stock SKU i, with quantities: every warehouse, and a deterministic ~40% of stores.
 * A cheap hash keeps it stable across runs without storing anything.
 */
export function demoStock(i: number): { locationId: string; onHand: number; safetyStock: number }[] {
  const out: { locationId: string; onHand: number; safetyStock: number }[] = [];
  DEMO_LOCATIONS.forEach((l, j) => {
    const h = (Math.imul(i + 1, 2654435761) ^ Math.imul(j + 1, 40503)) >>> 0;
    if (l.type === 'STORE' && h % 5 >= 2) return;
    const onHand = l.type === 'STORE' ? h % 25 : 50 + (h % 450);
    out.push({ locationId: l.id, onHand, safetyStock: l.type === 'STORE' ? 1 : 5 });
  });
  return out;
}
