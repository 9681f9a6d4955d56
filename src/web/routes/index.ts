// Every route module, one file per resource. Add new ones here.
// `crm` comes first and is not encapsulated: it adds cookies, form bodies, req.tenant/req.operator and the route catalogue
// (which tenant-isolation tests walk) for every plugin after it.
import type { FastifyPluginAsync } from 'fastify';
import crm from '../../crm/auth.js';
import assets from './assets.js';
import liffAssets from '../../line/liff-assets.js';
import customData from './custom-data.js';
import deliveries from './deliveries.js';
import friends from './friends.js';
import health from './health.js';
import liff from './liff.js';
import lineWebhook from './line-webhook.js';
import segments from './segments.js';
import segmentsUi from './segments-ui.js';
import shopify from './shopify.js';
import shopifyWebhooks from './shopify-webhooks.js';
import shopifyUi from './shopify-ui.js';
import ui from './ui.js';

export const routes: FastifyPluginAsync[] = [
  crm, assets, health, friends, customData, lineWebhook, liff, liffAssets, shopify, shopifyWebhooks, ui, shopifyUi, segments, deliveries, segmentsUi,
];
