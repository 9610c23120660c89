import { launchBrowser, findAccessibilityProblems } from '../test/helpers/browser.ts';
const b = await launchBrowser();
console.log(await findAccessibilityProblems(b, '<html><body><input type="text"><img src="x.png"></body></html>'));
await b.close();
