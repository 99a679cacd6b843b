export const handler = async (event) => ({ via: 'esm package', data: event.data });
