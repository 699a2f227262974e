/**
 * Tag chips: one `<li class="chip">` per tag, its name and a × that removes it.
 * The popup shows the page's tags this way and the options page the default
 * tags; theme.css styles `.chips`/`.chip` for both.
 */

/**
 * The chips for `tags`, in order. Clicking a chip's × calls `onRemove(tag)`;
 * `label(tag)` is the ×'s accessible name. `doc` is the document to build in.
 */
export function tagChips(tags, { onRemove, label = (tag) => `Remove tag ${tag}`, doc = document }) {
  return tags.map((tag) => {
    const li = doc.createElement("li");
    li.className = "chip";
    const name = doc.createElement("span");
    name.textContent = tag;
    const remove = doc.createElement("button");
    remove.type = "button";
    remove.textContent = "\u00d7";
    remove.setAttribute("aria-label", label(tag));
    remove.addEventListener("click", () => onRemove(tag));
    li.append(name, remove);
    return li;
  });
}
