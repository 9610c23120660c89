import '../src/app.ts'; console.log(Math.round(process.memoryUsage().rss/1e6))
