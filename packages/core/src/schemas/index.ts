// Browser-safe zod schemas shared by the API (validation + OpenAPI) and the web panel (forms).
export * from '../errors.ts';
