// Every route module, one file per resource. Add new ones here.
import type { FastifyPluginAsync } from 'fastify';
import health from './health.js';

export const routes: FastifyPluginAsync[] = [health];
