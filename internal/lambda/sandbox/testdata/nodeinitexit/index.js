console.log('leaving at init');
process.exit(2);
