export const handler = async (event) => ({ via: 'esm', data: event.data });
