/**
 * OpenAPI shapes that @nestjs/swagger cannot infer from TypeScript types (a `string | null`
 * reflects as Object, a JSON object as an empty one). Spread into ApiProperty options so the
 * published document, and the typed client generated from it, say what the API returns.
 */
export const NULLABLE_STRING = { type: String, nullable: true } as const;

/** Any JSON object (a transaction's input, a step's output, an event's data). */
export const JSON_OBJECT = { type: 'object', additionalProperties: true } as const;

/** An object whose every value is a number (counts by status, rates). */
export const NUMBER_MAP = { type: 'object', additionalProperties: { type: 'number' } } as const;
