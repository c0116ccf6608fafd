# medsam.mk: make rules for medsam-tools pipelines.
#
# Include it from a Makefile, declare the datasets, and ask for $(MEDSAM_ALL):
#
#   include medsam.mk
#   $(call medsam_nifti,CT,Abd,CT/images,CT/labels,)      # NIfTI -> out/npz/CT_Abd_<case>.npz
#   $(call medsam_png,Grey,Brain,2D/images,2D/labels,)    # PNG   -> out/npz/Grey_Brain_<stem>.npz
#   $(call medsam_segment_dir,challenge)                  # npz   -> out/segs/ (needs WEIGHTS=)
#   all: $(MEDSAM_ALL)
#
# Every output is written atomically by the tools (a temp file renamed into
# place), the npy and segmentation steps leave a stamp in $(MEDSAM_OUT)/.stamps
# only after the tool succeeded, and .DELETE_ON_ERROR removes a target whose
# recipe failed: an interrupted run never leaves a file make would take as
# done.  Safe with make -j.  Case names must not contain spaces.
#
# Variables (set them before the include or on the command line):
#   BUILD        a medsam-tools build folder; its src/tools/ is used when it holds
#                the tools, otherwise the medsam-* on PATH
#   MEDSAM_OUT   output folder (default out)
#   WEIGHTS      LiteMedSAM checkpoint; segmentation runs only when it is set
#   GT_DIR       ground truth npz ('gts', 'spacing') named as the segmented
#                cases; metrics ($(MEDSAM_OUT)/metrics.csv) only when it exists
#   PRE_CT_FLAGS, PRE_GREY_FLAGS, NPZ2NPY_FLAGS, SEGMENT_FLAGS, EVAL_FLAGS
#                extra options for each tool

MEDSAM_OUT ?= out
MEDSAM_STAMPS = $(MEDSAM_OUT)/.stamps
MEDSAM_IMG_SUFFIX ?= _0000.nii.gz
MEDSAM_GT_SUFFIX ?= .nii.gz

ifneq ($(BUILD),)
ifneq ($(wildcard $(BUILD)/src/tools/medsam-pre-ct),)
MEDSAM_BIN ?= $(BUILD)/src/tools/
else
$(warning BUILD=$(BUILD) has no src/tools/medsam-pre-ct: using the medsam-* tools on PATH)
endif
endif
MEDSAM_BIN ?=

PRE_CT ?= $(MEDSAM_BIN)medsam-pre-ct
PRE_GREY ?= $(MEDSAM_BIN)medsam-pre-grey-rgb
NPZ2NPY ?= $(MEDSAM_BIN)medsam-npz2npy
SEGMENT ?= $(MEDSAM_BIN)medsam-segment
EVAL ?= $(MEDSAM_BIN)medsam-eval

PRE_CT_FLAGS ?=
PRE_GREY_FLAGS ?=
NPZ2NPY_FLAGS ?=
SEGMENT_FLAGS ?=
EVAL_FLAGS ?=

ifneq ($(WEIGHTS),)
ifeq ($(wildcard $(WEIGHTS)),)
$(error WEIGHTS=$(WEIGHTS): no such file (the LiteMedSAM checkpoint, lite_medsam.pth))
endif
endif

MEDSAM_NPZ :=
MEDSAM_SEGS :=

.DELETE_ON_ERROR:

# A killed tool leaves its temp file (.<name>.XXXXXX, and libzip's
# .<name>.XXXXXX.XXXXXX next to it); each recipe first removes those of the
# outputs it is about to write.  $(1): final names (shell globs allowed).
medsam_rm_temps = rm -f $(foreach f,$(1),$(dir $(f)).$(notdir $(f)).?????? $(dir $(f)).$(notdir $(f)).??????.??????)

# ---------------------------------------------------------------- raw -> npz
# $(1) modality (CT windows; anything else, e.g. MR, uses percentiles),
# $(2) anatomy, $(3) image folder, $(4) label folder, $(5) extra options.
# One case per label file <case>$(MEDSAM_GT_SUFFIX), image <case>$(MEDSAM_IMG_SUFFIX).
define medsam_nifti_rules
MEDSAM_NPZ += $$(patsubst $(4)/%$$(MEDSAM_GT_SUFFIX),$$(MEDSAM_OUT)/npz/$(1)_$(2)_%.npz,$$(sort $$(wildcard $(4)/*$$(MEDSAM_GT_SUFFIX))))
$$(MEDSAM_OUT)/npz/$(1)_$(2)_%.npz: $(3)/%$$(MEDSAM_IMG_SUFFIX) $(4)/%$$(MEDSAM_GT_SUFFIX)
	@mkdir -p $$(@D) && $$(call medsam_rm_temps,$$@)
	$$(PRE_CT) -q --modality $(1) $$(PRE_CT_FLAGS) $(5) $$^ -o $$@
endef
medsam_nifti = $(eval $(call medsam_nifti_rules,$(1),$(2),$(3),$(4),$(5)))

# 2D PNG images and PNG masks of the same name, arguments as above (for JPEG
# images write a rule like the one in medsam-pre-grey-rgb(1)).
define medsam_png_rules
MEDSAM_NPZ += $$(patsubst $(4)/%.png,$$(MEDSAM_OUT)/npz/$(1)_$(2)_%.npz,$$(sort $$(wildcard $(4)/*.png)))
$$(MEDSAM_OUT)/npz/$(1)_$(2)_%.npz: $(3)/%.png $(4)/%.png
	@mkdir -p $$(@D) && $$(call medsam_rm_temps,$$@)
	$$(PRE_GREY) -q $$(PRE_GREY_FLAGS) $(5) $$^ -o $$@
endef
medsam_png = $(eval $(call medsam_png_rules,$(1),$(2),$(3),$(4),$(5)))

# ---------------------------------------------------------------- npz -> npy
# One stamp per npz: $(MEDSAM_OUT)/npy/{imgs,gts}/<name>[-iii].npy are all
# written (each atomically) before the stamp is.
$(MEDSAM_STAMPS)/npy/%.done: $(MEDSAM_OUT)/npz/%.npz
	@$(call medsam_rm_temps,$(foreach d,imgs gts,$(MEDSAM_OUT)/npy/$(d)/$*.npy $(MEDSAM_OUT)/npy/$(d)/$*-[0-9][0-9][0-9]*.npy))
	$(NPZ2NPY) -q $(NPZ2NPY_FLAGS) $< -o $(MEDSAM_OUT)/npy
	@mkdir -p $(@D) && touch $@

# ---------------------------------------------------------------- segmentation
# $(1) a folder of challenge npz inputs (imgs, boxes).  Writes
# $(MEDSAM_OUT)/segs/<name>.npz and PNG overlays in $(MEDSAM_OUT)/overlay/.
define medsam_segment_rules
MEDSAM_SEGS += $$(patsubst $(1)/%.npz,$$(MEDSAM_STAMPS)/segs/%.done,$$(sort $$(wildcard $(1)/*.npz)))
$$(MEDSAM_STAMPS)/segs/%.done: $(1)/%.npz $$(WEIGHTS)
	@$$(call medsam_rm_temps,$$(MEDSAM_OUT)/segs/$$*.npz $$(MEDSAM_OUT)/overlay/$$*.png $$(MEDSAM_OUT)/overlay/$$*_z[0-9]*.png)
	$$(SEGMENT) -q $$(SEGMENT_FLAGS) -w $$(WEIGHTS) $$< -o $$(MEDSAM_OUT)/segs --overlay $$(MEDSAM_OUT)/overlay
	@mkdir -p $$(@D) && touch $$@
endef
medsam_segment_dir = $(eval $(call medsam_segment_rules,$(1)))

# (The including Makefile's first target stays the default goal.)
medsam_saved_goal := $(.DEFAULT_GOAL)
# Metrics of every segmentation against $(GT_DIR) (one ground truth per case);
# its prerequisites are expanded again once all datasets are declared.
.SECONDEXPANSION:
$(MEDSAM_OUT)/metrics.csv: $$(MEDSAM_SEGS) $$(wildcard $$(GT_DIR)/*.npz)
	@$(call medsam_rm_temps,$@)
	$(EVAL) -q $(EVAL_FLAGS) --seg-dir $(MEDSAM_OUT)/segs --gt-dir $(GT_DIR) -o $@
.DEFAULT_GOAL := $(medsam_saved_goal)

# ---------------------------------------------------------------- targets
# Expanded where used, after the datasets are declared.
MEDSAM_NPY_STAMPS = $(patsubst $(MEDSAM_OUT)/npz/%.npz,$(MEDSAM_STAMPS)/npy/%.done,$(MEDSAM_NPZ))
MEDSAM_ALL = $(MEDSAM_NPZ) $(MEDSAM_NPY_STAMPS) \
	$(if $(WEIGHTS),$(MEDSAM_SEGS) $(if $(wildcard $(GT_DIR)),$(MEDSAM_OUT)/metrics.csv))
