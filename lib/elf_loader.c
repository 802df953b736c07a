/* Hermit kernel files: checks, notes and loading of ELF64 x86_64 images. */
#include "elf_loader.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>

#include "uhyve/hermit_abi.h"

#include "error.h"

/* Relocation targets and symbol tables as found through PT_DYNAMIC. */
struct dynamic_info {
	uint64_t rela_vaddr;
	uint64_t rela_size;
	uint64_t symtab_vaddr;
	bool has_rela;
	bool has_symtab;
};

const char *elf_machine_name(unsigned machine)
{
	switch (machine) {
	case EM_386:
		return "x86 (32-bit)";
	case EM_ARM:
		return "arm";
	case EM_AARCH64:
		return "aarch64";
	case EM_RISCV:
		return "riscv";
	case EM_PPC64:
		return "ppc64";
	case EM_S390:
		return "s390";
	case EM_X86_64:
		return "x86_64";
	default:
		return NULL;
	}
}

/* Checks the class and byte order before libelf converts any header. */
static int check_ident(Elf *elf, const char *name, char **error)
{
	const char *ident = elf_getident(elf, NULL);

	if (gelf_getclass(elf) != ELFCLASS64)
		return set_error(error, -ENOEXEC,
				 "%s: not a 64-bit ELF file (Hermit kernels "
				 "are ELF64)",
				 name);
	if (!ident || ident[EI_DATA] != ELFDATA2LSB)
		return set_error(error, -ENOEXEC,
				 "%s: not a little-endian ELF file", name);
	return 0;
}

static int check_header(Elf *elf, const GElf_Ehdr *ehdr, const char *name,
			char **error)
{
	const char *machine;

	(void)elf;
	if (ehdr->e_machine != EM_X86_64) {
		machine = elf_machine_name(ehdr->e_machine);
		if (machine)
			return set_error(error, -ENOEXEC,
					 "%s: kernel is built for %s, but this "
					 "host runs x86_64 kernels only",
					 name, machine);
		return set_error(error, -ENOEXEC,
				 "%s: kernel is built for ELF machine %u, but "
				 "this host runs x86_64 kernels only",
				 name, ehdr->e_machine);
	}
	if (ehdr->e_type != ET_DYN && ehdr->e_type != ET_EXEC)
		return set_error(
		    error, -ENOEXEC,
		    "%s: ELF type %u is neither ET_EXEC nor ET_DYN", name,
		    ehdr->e_type);
	return 0;
}

/* Reads the notes of one PT_NOTE segment into *image; sets *entry_version
 * when the HERMIT note is found. */
static int read_notes(Elf *elf, const GElf_Phdr *phdr, const char *name,
		      struct kernel_image *image, int *entry_version,
		      char **error)
{
	Elf_Type type = phdr->p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR;
	Elf_Data *data =
	    elf_getdata_rawchunk(elf, phdr->p_offset, phdr->p_filesz, type);
	size_t offset = 0;
	size_t next;
	GElf_Nhdr note;
	size_t name_offset;
	size_t desc_offset;

	if (!data)
		return set_error(error, -ENOEXEC,
				 "%s: PT_NOTE segment at file offset %#llx "
				 "does not fit in the file",
				 name, (unsigned long long)phdr->p_offset);

	while ((next = gelf_getnote(data, offset, &note, &name_offset,
				    &desc_offset)) > 0) {
		const char *note_name = (const char *)data->d_buf + name_offset;
		const uint8_t *desc =
		    (const uint8_t *)data->d_buf + desc_offset;

		offset = next;
		if (note.n_namesz == sizeof(HERMIT_NOTE_NAME) &&
		    !memcmp(note_name, HERMIT_NOTE_NAME, note.n_namesz) &&
		    note.n_type == HERMIT_NOTE_ENTRY_VERSION &&
		    note.n_descsz >= 1) {
			*entry_version = desc[0];
		} else if (note.n_namesz == sizeof(HERMIT_NOTE_UHYVEIF_NAME) &&
			   !memcmp(note_name, HERMIT_NOTE_UHYVEIF_NAME,
				   note.n_namesz) &&
			   note.n_type == HERMIT_NOTE_UHYVEIF &&
			   note.n_descsz >= 4) {
			image->interface_version =
			    (uint32_t)desc[0] << 24 | (uint32_t)desc[1] << 16 |
			    (uint32_t)desc[2] << 8 | desc[3];
		} else if (note.n_namesz == 4 && !memcmp(note_name, "GNU", 4) &&
			   note.n_type == NT_GNU_ABI_TAG &&
			   note.n_descsz >= 16) {
			uint32_t words[4];

			memcpy(words, desc, sizeof(words));
			if (words[0] == HERMIT_GNU_ABI_TAG_OS) {
				image->has_hermit_version = true;
				memcpy(image->hermit_version, &words[1],
				       sizeof(image->hermit_version));
			}
		}
	}
	return 0;
}

/* Finds the file offset of virtual address `vaddr` inside a PT_LOAD's file
 * bytes, with `*available` bytes of that segment's file data from there. */
static int vaddr_to_offset(Elf *elf, size_t phnum, uint64_t vaddr,
			   uint64_t *offset, uint64_t *available)
{
	GElf_Phdr phdr;

	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, (int)i, &phdr) || phdr.p_type != PT_LOAD)
			continue;
		if (vaddr < phdr.p_vaddr ||
		    vaddr - phdr.p_vaddr >= phdr.p_filesz)
			continue;
		*offset = phdr.p_offset + (vaddr - phdr.p_vaddr);
		*available = phdr.p_filesz - (vaddr - phdr.p_vaddr);
		return 0;
	}
	return -ENOEXEC;
}

static int read_dynamic(Elf *elf, const GElf_Phdr *phdr, const char *name,
			struct dynamic_info *info, char **error)
{
	Elf_Data *data = elf_getdata_rawchunk(elf, phdr->p_offset,
					      phdr->p_filesz, ELF_T_DYN);
	size_t count;
	GElf_Dyn dyn;

	if (!data)
		return set_error(error, -ENOEXEC,
				 "%s: PT_DYNAMIC does not fit in the file",
				 name);

	count = data->d_size / sizeof(Elf64_Dyn);
	for (size_t i = 0; i < count && gelf_getdyn(data, (int)i, &dyn); i++) {
		switch (dyn.d_tag) {
		case DT_NULL:
			return 0;
		case DT_NEEDED:
			return set_error(error, -ENOEXEC,
					 "%s: kernel needs shared libraries "
					 "(DT_NEEDED), but Hermit kernels must "
					 "be statically linked",
					 name);
		case DT_REL:
		case DT_RELR:
			return set_error(error, -ENOEXEC,
					 "%s: unsupported relocation table "
					 "(dynamic tag %lld); only RELA is "
					 "supported",
					 name, (long long)dyn.d_tag);
		case DT_RELA:
			info->rela_vaddr = dyn.d_un.d_ptr;
			info->has_rela = true;
			break;
		case DT_RELASZ:
			info->rela_size = dyn.d_un.d_val;
			break;
		case DT_SYMTAB:
			info->symtab_vaddr = dyn.d_un.d_ptr;
			info->has_symtab = true;
			break;
		default:
			break;
		}
	}
	return 0;
}

static Elf_Data *get_relocations(Elf *elf, size_t phnum,
				 const struct dynamic_info *info)
{
	uint64_t offset;
	uint64_t available;

	if (vaddr_to_offset(elf, phnum, info->rela_vaddr, &offset, &available))
		return NULL;
	if (info->rela_size > available)
		return NULL;
	return elf_getdata_rawchunk(elf, (int64_t)offset, info->rela_size,
				    ELF_T_RELA);
}

static Elf_Data *get_symbols(Elf *elf, size_t phnum,
			     const struct dynamic_info *info)
{
	uint64_t offset;
	uint64_t available;

	if (!info->has_symtab || vaddr_to_offset(elf, phnum, info->symtab_vaddr,
						 &offset, &available))
		return NULL;
	available -= available % sizeof(Elf64_Sym);
	return elf_getdata_rawchunk(elf, (int64_t)offset, available, ELF_T_SYM);
}

/* Calls `apply` for every relocation; used both to check and to load. */
typedef int (*relocation_fn)(const GElf_Rela *rela, const GElf_Sym *sym,
			     void *context, char **error);

static int for_each_relocation(Elf *elf, size_t phnum, const char *name,
			       relocation_fn apply, void *context,
			       size_t *count, char **error)
{
	struct dynamic_info info = {0};
	GElf_Phdr phdr;
	Elf_Data *relas;
	Elf_Data *symbols;
	size_t entries;
	int rc;

	*count = 0;
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, (int)i, &phdr) ||
		    phdr.p_type != PT_DYNAMIC)
			continue;
		rc = read_dynamic(elf, &phdr, name, &info, error);
		if (rc)
			return rc;
	}
	if (!info.has_rela || info.rela_size == 0)
		return 0;

	relas = get_relocations(elf, phnum, &info);
	if (!relas)
		return set_error(error, -ENOEXEC,
				 "%s: relocation table at %#llx (%llu bytes) "
				 "lies outside the file's loaded segments",
				 name, (unsigned long long)info.rela_vaddr,
				 (unsigned long long)info.rela_size);
	symbols = get_symbols(elf, phnum, &info);

	entries = relas->d_size / sizeof(Elf64_Rela);
	for (size_t i = 0; i < entries; i++) {
		GElf_Rela rela;
		GElf_Sym sym = {0};
		GElf_Sym *symbol = NULL;
		size_t sym_index;

		if (!gelf_getrela(relas, (int)i, &rela))
			return set_error(error, -ENOEXEC,
					 "%s: unreadable relocation %zu", name,
					 i);
		sym_index = GELF_R_SYM(rela.r_info);
		if (sym_index != 0) {
			if (!symbols ||
			    !gelf_getsym(symbols, (int)sym_index, &sym))
				return set_error(error, -ENOEXEC,
						 "%s: relocation %zu names "
						 "symbol %zu, which is not in "
						 "the symbol table",
						 name, i, sym_index);
			symbol = &sym;
		}
		rc = apply(&rela, symbol, context, error);
		if (rc)
			return prefix_error(error, rc, "%s: relocation %zu",
					    name, i);
	}
	*count = entries;
	return 0;
}

static int check_relocation(const GElf_Rela *rela, const GElf_Sym *sym,
			    void *context, char **error)
{
	unsigned type = GELF_R_TYPE(rela->r_info);

	(void)sym;
	(void)context;
	switch (type) {
	case R_X86_64_RELATIVE:
	case R_X86_64_64:
	case R_X86_64_GLOB_DAT:
	case R_X86_64_NONE:
		return 0;
	default:
		return set_error(error, -ENOEXEC,
				 "unknown relocation type %u (supported: "
				 "R_X86_64_RELATIVE, R_X86_64_64, "
				 "R_X86_64_GLOB_DAT)",
				 type);
	}
}

static int read_program_headers(Elf *elf, size_t phnum, const char *name,
				struct kernel_image *image, int *entry_version,
				char **error)
{
	bool have_load = false;
	uint64_t load_end = 0;
	GElf_Phdr phdr;
	int rc;

	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, (int)i, &phdr))
			return set_error(error, -ENOEXEC,
					 "%s: unreadable program header %zu",
					 name, i);
		switch (phdr.p_type) {
		case PT_LOAD:
			if (phdr.p_filesz > phdr.p_memsz ||
			    phdr.p_vaddr + phdr.p_memsz < phdr.p_vaddr)
				return set_error(error, -ENOEXEC,
						 "%s: PT_LOAD %zu has an "
						 "invalid size",
						 name, i);
			if (!have_load)
				image->load_start = phdr.p_vaddr;
			if (phdr.p_vaddr < image->load_start)
				return set_error(error, -ENOEXEC,
						 "%s: PT_LOAD segments are not "
						 "sorted by address",
						 name);
			if (phdr.p_vaddr + phdr.p_memsz > load_end)
				load_end = phdr.p_vaddr + phdr.p_memsz;
			have_load = true;
			break;
		case PT_NOTE:
			rc = read_notes(elf, &phdr, name, image, entry_version,
					error);
			if (rc)
				return rc;
			break;
		case PT_TLS:
			image->has_tls = true;
			image->tls_vaddr = phdr.p_vaddr;
			image->tls_filesz = phdr.p_filesz;
			image->tls_memsz = phdr.p_memsz;
			image->tls_align = phdr.p_align;
			break;
		default:
			break;
		}
	}
	if (!have_load)
		return set_error(error, -ENOEXEC, "%s: no PT_LOAD segment",
				 name);
	image->load_span = load_end - image->load_start;
	return 0;
}

static int check_notes(int entry_version, const char *name,
		       const struct kernel_image *image, char **error)
{
	if (entry_version < 0)
		return set_error(error, -ENOEXEC,
				 "%s: no HERMIT note, so this is not a Hermit "
				 "kernel",
				 name);
	if (entry_version != HERMIT_ENTRY_VERSION)
		return set_error(error, -ENOEXEC,
				 "%s: Hermit entry version %d is not supported "
				 "(expected %d)",
				 name, entry_version, HERMIT_ENTRY_VERSION);
	if (image->interface_version != 1 && image->interface_version != 2)
		return set_error(error, -ENOEXEC,
				 "%s: hypercall interface version %u is not "
				 "supported (expected 1 or 2)",
				 name, image->interface_version);
	return 0;
}

static Elf *open_elf(const void *data, size_t size, const char *name,
		     GElf_Ehdr *ehdr, size_t *phnum, char **error)
{
	Elf *elf;
	int rc;

	elf_version(EV_CURRENT);
	elf = elf_memory((char *)data, size);
	if (!elf) {
		set_error(error, -ENOEXEC, "%s: cannot read ELF: %s", name,
			  elf_errmsg(-1));
		return NULL;
	}
	if (elf_kind(elf) != ELF_K_ELF) {
		set_error(error, -ENOEXEC,
			  "%s: not an ELF file (a Hermit kernel is an ELF64 "
			  "x86_64 executable)",
			  name);
		goto fail;
	}
	rc = check_ident(elf, name, error);
	if (rc)
		goto fail;
	if (!gelf_getehdr(elf, ehdr)) {
		set_error(error, -ENOEXEC, "%s: invalid ELF header: %s", name,
			  elf_errmsg(-1));
		goto fail;
	}
	if (elf_getphdrnum(elf, phnum)) {
		set_error(error, -ENOEXEC, "%s: invalid program headers: %s",
			  name, elf_errmsg(-1));
		goto fail;
	}
	return elf;

fail:
	elf_end(elf);
	return NULL;
}

int elf_loader_parse(const void *data, size_t size, const char *name,
		     struct kernel_image *image, char **error)
{
	int entry_version = -1;
	GElf_Ehdr ehdr;
	size_t phnum;
	Elf *elf;
	int rc;

	memset(image, 0, sizeof(*image));
	image->interface_version = 1;

	elf = open_elf(data, size, name, &ehdr, &phnum, error);
	if (!elf)
		return -ENOEXEC;

	rc = check_header(elf, &ehdr, name, error);
	if (rc)
		goto out;
	image->relocatable = ehdr.e_type == ET_DYN;
	image->entry = ehdr.e_entry;

	rc = read_program_headers(elf, phnum, name, image, &entry_version,
				  error);
	if (rc)
		goto out;
	rc = check_notes(entry_version, name, image, error);
	if (rc)
		goto out;
	if (!image->relocatable &&
	    (image->entry < image->load_start ||
	     image->entry - image->load_start >= image->load_span)) {
		rc = set_error(error, -ENOEXEC,
			       "%s: entry point %#llx lies outside the loaded "
			       "image",
			       name, (unsigned long long)image->entry);
		goto out;
	}

	rc = for_each_relocation(elf, phnum, name, check_relocation, NULL,
				 &image->relocation_count, error);
out:
	elf_end(elf);
	return rc;
}

/* Inputs of apply_relocation() for writing into guest memory. */
struct load_context {
	const struct guest_mem *mem;
	uint64_t base;	    /* K: added to every relocated address */
	uint64_t image_end; /* first gpa after the image */
};

static int apply_relocation(const GElf_Rela *rela, const GElf_Sym *sym,
			    void *opaque, char **error)
{
	const struct load_context *context = opaque;
	unsigned type = GELF_R_TYPE(rela->r_info);
	uint64_t target = context->base + rela->r_offset;
	uint64_t value;
	uint8_t *slot;

	if (type == R_X86_64_NONE)
		return 0;
	if (rela->r_offset > context->image_end - context->base ||
	    context->image_end - target < 8)
		return set_error(error, -ENOEXEC,
				 "offset %#llx lies outside the image",
				 (unsigned long long)rela->r_offset);
	slot = guest_mem_range(context->mem, target, 8);
	if (!slot)
		return set_error(error, -ENOEXEC,
				 "target %#llx lies outside guest memory",
				 (unsigned long long)target);

	if (type == R_X86_64_RELATIVE) {
		value = context->base + (uint64_t)rela->r_addend;
	} else if (sym && sym->st_shndx == SHN_UNDEF &&
		   GELF_ST_BIND(sym->st_info) == STB_WEAK) {
		return 0;
	} else if (sym && sym->st_shndx == SHN_UNDEF) {
		return set_error(error, -ENOEXEC,
				 "refers to an undefined symbol, but Hermit "
				 "kernels are statically linked");
	} else {
		value = context->base + (sym ? sym->st_value : 0) +
			(uint64_t)rela->r_addend;
	}
	memcpy(slot, &value, sizeof(value));
	return 0;
}

static int load_segment(const void *data, size_t size, const GElf_Phdr *phdr,
			const struct guest_mem *mem, uint64_t bias)
{
	uint8_t *dest;

	if (phdr->p_vaddr > UINT64_MAX - bias)
		return -E2BIG;
	dest = guest_mem_range(mem, phdr->p_vaddr + bias, phdr->p_memsz);
	if (!dest)
		return -E2BIG;
	if (phdr->p_offset > size || phdr->p_filesz > size - phdr->p_offset)
		return -ENOEXEC;
	memcpy(dest, (const uint8_t *)data + phdr->p_offset, phdr->p_filesz);
	memset(dest + phdr->p_filesz, 0, phdr->p_memsz - phdr->p_filesz);
	return 0;
}

int elf_loader_load(const void *data, size_t size, const char *name,
		    const struct kernel_image *image,
		    const struct guest_mem *mem, uint64_t kernel_addr,
		    char **error)
{
	uint64_t bias = image->relocatable ? kernel_addr : 0;
	struct load_context context = {
	    .mem = mem,
	    .base = bias,
	    .image_end = bias + image->load_start + image->load_span,
	};
	size_t count;
	GElf_Ehdr ehdr;
	GElf_Phdr phdr;
	size_t phnum;
	Elf *elf;
	int rc = 0;

	elf = open_elf(data, size, name, &ehdr, &phnum, error);
	if (!elf)
		return -ENOEXEC;

	for (size_t i = 0; i < phnum && rc == 0; i++) {
		if (!gelf_getphdr(elf, (int)i, &phdr) || phdr.p_type != PT_LOAD)
			continue;
		rc = load_segment(data, size, &phdr, mem, bias);
		if (rc == -E2BIG)
			set_error(error, rc,
				  "%s: segment at %#llx (%llu bytes) does not "
				  "fit in guest memory [%#llx, %#llx)",
				  name,
				  (unsigned long long)(phdr.p_vaddr + bias),
				  (unsigned long long)phdr.p_memsz,
				  (unsigned long long)mem->start,
				  (unsigned long long)(mem->start + mem->size));
		else if (rc)
			set_error(
			    error, rc,
			    "%s: segment %zu's file bytes lie outside the "
			    "file",
			    name, i);
	}
	if (rc == 0 && image->relocatable)
		rc = for_each_relocation(elf, phnum, name, apply_relocation,
					 &context, &count, error);
	elf_end(elf);
	return rc;
}
