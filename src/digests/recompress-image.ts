/**
 * Resizing and recompressing one image to fit a byte budget, with sharp (libvips). Only digest freezing imports this
 * file (through a dynamic import at the composition root), so sharp never loads in a delivery worker.
 *
 * The output is what every mail client shows: JPEG (mozjpeg, progressive), or PNG with a palette when the image has
 * real transparency. Orientation is applied and all metadata is dropped (EXIF can hold where and when a photo was
 * taken). The width steps down from `maxWidth` and the quality from 80 until the image fits; an image that does not
 * fit even at the smallest step is refused, never sent over budget.
 */
import sharp from 'sharp';
import { AppError } from '../errors.js';
import type { InlineImage } from './digest.js';

/** The limits one image must fit. */
export interface ImageBudget {
  /** Widest output, in pixels (twice the email's 600-pixel column keeps it sharp on high-density screens). */
  maxWidth: number;
  /** Largest output, in bytes. */
  maxBytes: number;
}

/** A recompressed image. */
export interface RecompressedImage {
  bytes: Buffer;
  contentType: InlineImage['contentType'];
  width: number;
  height: number;
}

/** Source formats accepted. SVG is not: it can refer to other resources, and mail clients handle it badly. */
const ACCEPTED_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'heif']);

/** Decompression bombs stop here (a 10,000 × 5,000 photograph still passes). */
const MAX_INPUT_PIXELS = 50_000_000;

/** Narrowest width tried before giving up. */
const MIN_WIDTH = 240;

const QUALITIES = [80, 65, 50] as const;

function refuse(reason: string): AppError {
  return new AppError('image_unavailable', reason);
}

/** The widths tried, widest first: the image's own width (at most `maxWidth`), then three quarters of it, and so on. */
function widthSteps(sourceWidth: number, maxWidth: number): number[] {
  const steps: number[] = [];
  for (let width = Math.min(sourceWidth, maxWidth); width >= MIN_WIDTH; width = Math.floor(width * 0.75)) {
    steps.push(width);
  }
  return steps.length > 0 ? steps : [Math.min(sourceWidth, maxWidth)];
}

/**
 * Decodes an image and re-encodes it within the budget. Throws `image_unavailable` when the bytes are not an image
 * of an accepted format, are too large to decode, or cannot be made to fit.
 */
export async function recompressImage(source: Buffer, budget: ImageBudget): Promise<RecompressedImage> {
  const open = () => sharp(source, { limitInputPixels: MAX_INPUT_PIXELS, autoOrient: true });
  let format: string | undefined;
  let width: number | undefined;
  let isOpaque = true;
  try {
    const metadata = await open().metadata();
    format = metadata.format;
    width = metadata.autoOrient?.width ?? metadata.width;
    if (metadata.hasAlpha) isOpaque = (await open().stats()).isOpaque;
  } catch (error) {
    throw refuse(`not an image that can be read (${(error as Error).message.split('\n')[0]})`);
  }
  if (!format || !ACCEPTED_FORMATS.has(format)) {
    throw refuse(`the format ${format ?? 'unknown'} is not accepted (JPEG, PNG, WebP, GIF, AVIF or HEIF)`);
  }
  if (!width) throw refuse('the image has no width');
  const contentType: InlineImage['contentType'] = isOpaque ? 'image/jpeg' : 'image/png';
  for (const stepWidth of widthSteps(width, budget.maxWidth)) {
    for (const quality of QUALITIES) {
      const resized = open().resize({ width: stepWidth, withoutEnlargement: true });
      const encoded =
        contentType === 'image/jpeg'
          ? resized.flatten({ background: '#ffffff' }).jpeg({ quality, mozjpeg: true, progressive: true })
          : resized.png({ palette: true, quality, compressionLevel: 9 });
      const { data, info } = await encoded.toBuffer({ resolveWithObject: true });
      if (data.length <= budget.maxBytes) {
        return { bytes: data, contentType, width: info.width, height: info.height };
      }
    }
  }
  throw refuse(`it cannot be made to fit ${budget.maxBytes} bytes, even at ${MIN_WIDTH} pixels wide`);
}
